/**
 * The Table-1-style report: one table per suite, metrics as rows, checkpoints side by side (strict harness score with
 * the robust-extraction score in parentheses), the majority-answer baseline beside them, and each later checkpoint's
 * delta against the first. Also written as JSON.
 */
import type { SuiteScores } from "./types.ts";

export interface CheckpointScores {
  checkpoint: string;
  scores: SuiteScores;
}

export interface ReportMetric {
  metric: string;
  majority: number | null;
  /** checkpoint → {strict, robust}. */
  values: Record<string, { strict: number | null; robust: number | null }>;
  /** checkpoint → strict delta vs the first checkpoint. */
  deltas: Record<string, number | null>;
}

export interface BenchReport {
  generatedAt: string;
  checkpoints: string[];
  suites: { suite: string; n: Record<string, number>; primary: string; metrics: ReportMetric[] }[];
  notes: string[];
}

const fin = (x: number | undefined): number | null => (x === undefined || !Number.isFinite(x) ? null : x);

export function buildReport(results: readonly CheckpointScores[], notes: string[] = []): BenchReport {
  const checkpoints = [...new Set(results.map((r) => r.checkpoint))];
  const suites = [...new Set(results.map((r) => r.scores.suite))];
  return {
    generatedAt: new Date().toISOString(),
    checkpoints,
    notes,
    suites: suites.map((suite) => {
      const rows = results.filter((r) => r.scores.suite === suite);
      const metricNames = [...new Set(rows.flatMap((r) => Object.keys(r.scores.strict)))];
      const first = rows[0];
      const metrics = metricNames.map((m): ReportMetric => {
        const values: ReportMetric["values"] = {};
        const deltas: ReportMetric["deltas"] = {};
        for (const r of rows) {
          values[r.checkpoint] = { strict: fin(r.scores.strict[m]), robust: fin(r.scores.robust[m]) };
          const a = fin(first.scores.strict[m]), b = fin(r.scores.strict[m]);
          deltas[r.checkpoint] = a === null || b === null ? null : b - a;
        }
        return { metric: m, majority: fin(first.scores.majorityBaseline[m]), values, deltas };
      });
      return {
        suite,
        n: Object.fromEntries(rows.map((r) => [r.checkpoint, r.scores.n])),
        primary: first.scores.primary,
        metrics,
      };
    }),
  };
}

const pct = (x: number | null) => (x === null ? "n/a" : (100 * x).toFixed(1));
const signed = (x: number | null) => (x === null ? "n/a" : `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)}`);

export function renderMarkdown(rep: BenchReport): string {
  const lines: string[] = [`# Spatial benchmarks (${rep.generatedAt})`, ""];
  lines.push(
    "Scores in %, strict harness extraction (robust extraction in parentheses); Δ vs the first checkpoint.",
    "",
  );
  for (const s of rep.suites) {
    const cks = rep.checkpoints.filter((c) => c in s.n);
    lines.push(`## ${s.suite} (n = ${cks.map((c) => s.n[c]).join(" / ")})`, "");
    const head = ["metric", "majority", ...cks, ...cks.slice(1).map((c) => `Δ ${c}`)];
    lines.push(`| ${head.join(" | ")} |`, `|${head.map(() => " --- ").join("|")}|`);
    for (const m of s.metrics) {
      const cells = [
        m.metric,
        pct(m.majority),
        ...cks.map((c) => `${pct(m.values[c]?.strict ?? null)} (${pct(m.values[c]?.robust ?? null)})`),
        ...cks.slice(1).map((c) => signed(m.deltas[c] ?? null)),
      ];
      lines.push(`| ${cells.join(" | ")} |`);
    }
    lines.push("");
  }
  for (const n of rep.notes) lines.push(`- ${n}`);
  return lines.join("\n") + "\n";
}
