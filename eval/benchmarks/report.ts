/**
 * The Table-1-style Markdown report of results.json: one table per suite, metrics as rows, checkpoints side by side
 * (strict harness score, robust extraction in parentheses), chance and majority beside them, ↓ on every score below
 * the majority baseline, each later checkpoint's delta against the first, then the headline metric's 95 % intervals
 * and the paired tests against the control.
 */
import { type BenchResults, checkpointNames, type SuiteResult } from "./results.ts";

const pct = (x: number | null | undefined) => (x === null || x === undefined ? "n/a" : (100 * x).toFixed(1));
const signed = (x: number | null) => (x === null ? "n/a" : `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)}`);
const pval = (p: number | null) => (p === null ? "n/a" : p < 0.001 ? "< 0.001" : `= ${p.toFixed(3)}`);

function suiteSection(s: SuiteResult, latestRun: string): string[] {
  const cks = Object.keys(s.checkpoints);
  const lines = [`## ${s.suite} (n = ${s.n}; headline metric: ${s.headline})`, ""];
  const head = ["metric", "chance", "majority", ...cks, ...cks.slice(1).map((c) => `Δ ${c}`)];
  lines.push(`| ${head.join(" | ")} |`, `|${head.map(() => " --- ").join("|")}|`);
  const metrics = [...new Set(cks.flatMap((c) => Object.keys(s.checkpoints[c].metrics)))];
  for (const m of metrics) {
    const cell = (c: string) => {
      const v = s.checkpoints[c].metrics[m];
      const below = s.checkpoints[c].belowMajority.includes(m) ? " ↓" : "";
      return `${pct(v?.strict)} (${pct(v?.robust)})${below}`;
    };
    const first = s.checkpoints[cks[0]].metrics[m]?.strict ?? null;
    const delta = (c: string) => {
      const v = s.checkpoints[c].metrics[m]?.strict ?? null;
      return signed(v === null || first === null ? null : v - first);
    };
    const row = [m, pct(s.chance[m]), pct(s.majority[m]), ...cks.map(cell), ...cks.slice(1).map(delta)];
    lines.push(`| ${row.join(" | ")} |`);
  }
  lines.push("");
  const cis = cks.map((c) => {
    const ci = s.checkpoints[c].ci95;
    return ci ? `${c} ${pct(ci.lo)}–${pct(ci.hi)} (${ci.method})` : `${c} n/a`;
  });
  lines.push(`95 % CI of ${s.headline} (strict): ${cis.join(" · ")}`, "");
  const modal = cks.flatMap((c) => {
    const m = s.checkpoints[c].modalAnswer;
    return m ? [`${c} "${m.answer}" ${(100 * m.share).toFixed(0)} %`] : [];
  });
  if (modal.length) {
    lines.push(`Most frequent answer (share of items): ${modal.join(" · ")}`, "");
  }
  for (const t of s.comparisons) {
    const ci = t.ci95 ? ` [${signed(t.ci95.lo)}, ${signed(t.ci95.hi)}]` : "";
    const test = t.test === "mcnemar-exact"
      ? `McNemar exact p ${pval(t.pValue)} (${t.discordant!.aOnly} vs ${t.discordant!.bOnly} discordant items)`
      : `paired bootstrap p ${pval(t.pValue)}`;
    lines.push(`- ${t.a} − ${t.b}: ${signed(t.diff)} points${ci}, ${test}`);
  }
  for (const c of cks) {
    const e = s.checkpoints[c];
    if (e.run !== latestRun) lines.push(`- ${c}: kept from the run of ${e.run}`);
  }
  for (const n of s.notes) lines.push(`- ${n}`);
  lines.push("");
  return lines;
}

/** The VSI bias probe: per checkpoint, each metric with the average-size prior minus without (Table 5, App. D). */
function biasProbe(r: BenchResults): string[] {
  const plain = r.suites.find((s) => s.suite === "vsi"), prior = r.suites.find((s) => s.suite === "vsi+avg-prior");
  if (!plain || !prior) return [];
  const cks = Object.keys(plain.checkpoints).filter((c) => c in prior.checkpoints);
  const metrics = Object.keys(plain.majority);
  const lines = ["## VSI bias probe: Δ strict (with average-size prior − without)", ""];
  lines.push(`| metric | ${cks.join(" | ")} |`, `|${[0, ...cks].map(() => " --- ").join("|")}|`);
  for (const m of metrics) {
    const d = cks.map((c) => {
      const a = prior.checkpoints[c].metrics[m]?.strict ?? null, b = plain.checkpoints[c].metrics[m]?.strict ?? null;
      return signed(a === null || b === null ? null : a - b);
    });
    lines.push(`| ${m} | ${d.join(" | ")} |`);
  }
  return [...lines, ""];
}

export function renderMarkdown(r: BenchResults): string {
  const lines: string[] = [`# Spatial benchmarks (updated ${r.updatedAt})`, ""];
  lines.push(
    "Scores in %, strict harness extraction (robust extraction in parentheses); Δ = strict score − the first " +
      "checkpoint's; ↓ = below the majority baseline (every item answered with its category's most frequent gold " +
      "answer); chance = the expected score of uniform guessing (n/a for numeric answers). Intervals: Wilson for " +
      "accuracies, percentile bootstrap otherwise; paired tests on the same items against the control.",
    "",
    `Checkpoints: ${checkpointNames(r).join(", ")}.`,
    "",
  );
  for (const s of r.suites) lines.push(...suiteSection(s, r.config.id));
  lines.push(...biasProbe(r));
  for (const n of r.config.notes) lines.push(`- ${n}`);
  return lines.join("\n") + "\n";
}
