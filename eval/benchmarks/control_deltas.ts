/**
 * Each checkpoint's headline score per suite and its paired difference against the control, read from a
 * BenchResults (results.ts): what the ablation table (train/ablation.ts, via tasks/ablate.ts) and any other
 * "rows against a control" report show.
 */
import type { PairedDelta } from "../../core/paired_delta.ts";
import type { BenchResults } from "./results.ts";

/** checkpoint → suite → its PairedDelta against `control` (the comparisons runBench made against it). */
export function controlDeltas(
  results: BenchResults,
  checkpoints: string[],
  control: string,
): Record<string, Record<string, PairedDelta>> {
  const out: Record<string, Record<string, PairedDelta>> = {};
  for (const name of checkpoints) {
    out[name] = {};
    for (const s of results.suites) {
      const c = s.checkpoints[name];
      if (!c) continue;
      const cmp = s.comparisons.find((x) => x.a === name && x.b === control);
      out[name][s.suite] = {
        n: c.n,
        score: c.metrics[s.headline]?.strict ?? null,
        ci95: c.ci95 ? { lo: c.ci95.lo, hi: c.ci95.hi } : null,
        diff: name === control ? null : cmp?.diff ?? null,
        diffCi95: name === control ? null : cmp?.ci95 ?? null,
        pValue: name === control ? null : cmp?.pValue ?? null,
        test: name === control ? null : cmp?.test ?? null,
      };
    }
  }
  return out;
}
