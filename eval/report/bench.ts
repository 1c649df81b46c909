/**
 * The README's benchmark table from results.json (eval/benchmarks/results.ts): per suite its headline metric, n,
 * chance and majority, every checkpoint's strict score with its 95 % interval (↓ below majority), and each
 * checkpoint's paired test against the suite's control, then each checkpoint's most frequent answer and its share, all
 * as results.json holds them (nothing recomputed).
 */
import { type BenchResults, checkpointNames, MIN_REPORT_ITEMS } from "../benchmarks/results.ts";
import { commandFrom, notRunYet, pct, points, pValue, sourceLine, table } from "./format.ts";

/** The command that wrote `r` (its latest run's argv), or the default one. */
export function benchCommand(r: BenchResults | null): string {
  return commandFrom(r?.config.argv, "bench");
}

/** One table: suites as rows; score [95 % CI] per checkpoint; difference and p-value against the control. */
export function benchSection(r: BenchResults | null, file: string): string {
  if (!r) return notRunYet(file, "deno task bench");
  const names = checkpointNames(r);
  const controls = [...new Set(r.suites.map((s) => s.control))];
  const tested = names.filter((n) => r.suites.some((s) => s.comparisons.some((c) => c.a === n)));
  const head = [
    "suite",
    "n",
    "metric",
    "chance",
    "majority",
    ...names,
    ...tested.map((n) => `${n} − control (p)`),
  ];
  const rows = r.suites.map((s) => {
    const score = (name: string) => {
      const c = s.checkpoints[name];
      if (!c) return "—";
      const v = c.metrics[s.headline]?.strict ?? null;
      const ci = c.ci95 ? ` [${pct(c.ci95.lo)}, ${pct(c.ci95.hi)}]` : "";
      return `${pct(v)}${ci}${c.belowMajority.includes(s.headline) ? " ↓" : ""}`;
    };
    const test = (name: string) => {
      const t = s.comparisons.find((c) => c.a === name);
      return t ? `${points(t.diff)} vs ${t.b} (p ${pValue(t.pValue)})` : "—";
    };
    return [
      s.suite,
      String(s.n),
      s.headline,
      pct(s.chance[s.headline]),
      pct(s.majority[s.headline]),
      ...names.map(score),
      ...tested.map(test),
    ];
  });
  // What each model answers most often: a share near 100 % is a constant answer, whose score is just the gold share
  // of that answer (about the majority baseline), so such a row says nothing about what the model knows.
  const modalRows = r.suites.map((s) => [
    s.suite,
    ...names.map((name) => {
      const m = s.checkpoints[name]?.modalAnswer;
      return m ? `\`${m.answer || "(none)"}\` ${pct(m.share)}` : "—";
    }),
  ]);
  const hasModal = r.suites.some((s) => Object.values(s.checkpoints).some((c) => c.modalAnswer));
  const small = r.suites.filter((s) => s.n < MIN_REPORT_ITEMS).map((s) => s.suite);
  const tests = [...new Set(r.suites.flatMap((s) => s.comparisons.map((c) => c.test)))];
  return [
    sourceLine(file, benchCommand(r), `(updated ${r.updatedAt})`),
    "",
    ...table(head, rows),
    "",
    `Strict harness extraction, headline metric per suite; [95 % CI] (Wilson for accuracies, bootstrap otherwise); ↓ = ` +
    `below the majority baseline; control: ${controls.join(", ") || "—"}; paired test: ${tests.join(", ") || "—"} ` +
    `(differences in points).` +
    (small.length ? ` Fewer than ${MIN_REPORT_ITEMS} items on ${small.join(", ")}: intervals are wide.` : ""),
    ...(hasModal
      ? [
        "",
        "Most frequent answer of each model (strict extraction) and its share of the items; near 100 % the model " +
        "gives one answer whatever it is shown, and its score is that answer's share of the gold answers:",
        "",
        ...table(["suite", ...names], modalRows),
      ]
      : []),
  ].join("\n");
}
