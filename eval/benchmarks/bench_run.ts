/**
 * `deno task bench` as a library function: resolve suites, load each once, run every checkpoint's engine over them
 * (resumable predictions per checkpoint × suite), score (strict harness + robust), run the VSI bias probe when asked,
 * and write the Table-1-style report (Markdown + JSON).
 *
 * Output layout under `outDir`:
 *   {checkpoint}/{suite}.predictions.jsonl   one line per finished item (the resume state)
 *   {checkpoint}/{suite}.scores.json          per-item parsed answers and scores
 *   synthetic-data/                           the synthetic suites' files (cached by options)
 *   report.md, report.json
 */
import { join } from "node:path";
import { ConfigError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../core/io/atomic.ts";
import { allAngles } from "./all_angles.ts";
import { blink } from "./blink.ts";
import { cvBench } from "./cv_bench.ts";
import { type BenchReport, buildReport, type CheckpointScores, renderMarkdown } from "./report.ts";
import { formatProgress, runPredictions } from "./runner.ts";
import { type BenchmarkModule, type LoadOptions, scoreSuite } from "./suite.ts";
import { buildSyntheticSuites, DEFAULT_SYNTHETIC, type SyntheticOptions } from "./synthetic/build.ts";
import type { BenchEngine, BenchItem, SuiteScores } from "./types.ts";
import { VisualResolver } from "./visuals.ts";
import { vsiBench } from "./vsi_bench.ts";
import { withPriors } from "./vsi_bias_probe.ts";

export const REAL_SUITES: Record<string, BenchmarkModule> = {
  "all-angles": allAngles,
  vsi: vsiBench,
  blink,
  "cv-bench": cvBench,
};
export const SYNTHETIC_SUITES = [
  "synthetic-camera-pose",
  "synthetic-counting",
  "synthetic-rel-distance",
  "synthetic-rel-direction",
  "synthetic-correspondence",
  "synthetic-depth-order",
];
export const SUITE_NAMES = [...Object.keys(REAL_SUITES), "vsi-bias", "synthetic", ...SYNTHETIC_SUITES];

export interface NamedEngine {
  name: string;
  engine: BenchEngine;
}

export interface BenchOptions {
  suites: string[];
  /** Data path per real suite ("vsi-bias" uses the "vsi" entry). */
  data: Record<string, string>;
  checkpoints: NamedEngine[];
  outDir: string;
  limit?: number;
  load?: LoadOptions;
  maxTokens?: number;
  batchSize?: number;
  seed?: number;
  synthetic?: SyntheticOptions;
  notes?: string[];
  log?: (line: string) => void;
}

interface LoadedSuite {
  suite: string;
  module: BenchmarkModule;
  items: BenchItem[];
}

async function loadSuites(o: BenchOptions): Promise<LoadedSuite[]> {
  const wanted = o.suites.flatMap((s) => (s === "synthetic" ? SYNTHETIC_SUITES : [s]));
  for (const s of wanted) {
    if (!SUITE_NAMES.includes(s)) {
      throw new ConfigError("--suite", `unknown suite "${s}" (one of ${SUITE_NAMES.join(", ")})`);
    }
  }
  const out: LoadedSuite[] = [];
  const synth = wanted.filter((s) => s.startsWith("synthetic-"));
  if (synth.length) {
    const dir = join(o.outDir, "synthetic-data");
    o.log?.(`bench: building synthetic suites in ${dir} (cached)`);
    const t0 = performance.now();
    const specs = await buildSyntheticSuites(dir, o.synthetic ?? DEFAULT_SYNTHETIC);
    o.log?.(`bench: synthetic suites ready (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    for (const sp of specs.filter((sp) => synth.includes(sp.suite))) {
      out.push({
        suite: sp.suite,
        module: sp.module,
        items: await sp.module.load(sp.path, { ...sp.load, limit: o.limit }),
      });
    }
  }
  for (const s of wanted.filter((s) => !s.startsWith("synthetic-"))) {
    const key = s === "vsi-bias" ? "vsi" : s;
    const path = o.data[key];
    if (!path) {
      throw new ConfigError(
        "--data",
        `suite ${s} needs its data path (--data ${key}=PATH, or --data PATH with one real suite)`,
      );
    }
    const module = REAL_SUITES[key];
    const items = await module.load(path, { ...o.load, limit: o.limit });
    if (s === "vsi-bias") {
      out.push({ suite: "vsi", module, items });
      out.push({ suite: "vsi+avg-prior", module, items: withPriors(items) });
    } else {
      out.push({ suite: s, module, items });
    }
  }
  // De-duplicate (e.g. "vsi" and "vsi-bias" both asked).
  return out.filter((s, i) => out.findIndex((t) => t.suite === s.suite) === i);
}

function diff(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(a).filter((k) => k in b).map((k) => [k, a[k] - b[k]]));
}

export async function runBench(o: BenchOptions): Promise<{ report: BenchReport; markdown: string }> {
  if (o.checkpoints.length === 0) throw new ConfigError("--model", "no models to benchmark");
  const suites = await loadSuites(o);
  const resolver = new VisualResolver();
  const results: CheckpointScores[] = [];
  for (const ck of o.checkpoints) {
    const byName = new Map<string, SuiteScores>();
    for (const s of suites) {
      let last = 0;
      const outputs = await runPredictions({
        engine: ck.engine,
        items: s.items,
        predictionsPath: join(o.outDir, ck.name, `${s.suite}.predictions.jsonl`),
        suite: `${ck.name} · ${s.suite}`,
        resolver,
        batchSize: o.batchSize,
        maxTokens: o.maxTokens,
        seed: o.seed,
        onProgress: (p) => {
          const now = performance.now();
          if (now - last > 2000 || p.done === p.total) {
            last = now;
            o.log?.(formatProgress(p));
          }
        },
      });
      const { scores, perItem } = scoreSuite(s.module, s.items, outputs, s.suite);
      await writeFileAtomic(
        join(o.outDir, ck.name, `${s.suite}.scores.json`),
        JSON.stringify({ scores, perItem }, null, 1),
      );
      byName.set(s.suite, scores);
      results.push({ checkpoint: ck.name, scores });
    }
    const plain = byName.get("vsi"), prior = byName.get("vsi+avg-prior");
    if (plain && prior) {
      results.push({
        checkpoint: ck.name,
        scores: {
          suite: "vsi bias probe: Δ (with avg prior − without)",
          n: prior.n,
          strict: diff(prior.strict, plain.strict),
          robust: diff(prior.robust, plain.robust),
          majorityBaseline: {},
          primary: "strict",
        },
      });
    }
  }
  const report = buildReport(results, o.notes ?? []);
  const markdown = renderMarkdown(report);
  await writeFileAtomic(join(o.outDir, "report.md"), markdown);
  await writeFileAtomic(join(o.outDir, "report.json"), JSON.stringify(report, null, 1));
  return { report, markdown };
}
