/**
 * The paper's targets against what the run reports reach (issue 13, "Done when"): each row names the target, the
 * number reached with the file it was read from, and whether it is met. A number no file holds is "not measured",
 * never filled in.
 *
 * Read-outs: App. C measures a model without heads by its Q/K; GASP's correspondence heads exist only in training, so
 * their PCK and ρ come from pck.json (`deno task train`), and the robustness curve Y(Δt), which needs the robustness
 * split, from the eval report's GASP Q/K.
 */
import type { BenchResults } from "../benchmarks/results.ts";
import { robustnessAt } from "./correspondence.ts";
import { metric, pct, pValue } from "./format.ts";
import type { EvalReport, PckFile } from "./inputs.ts";

/** The inputs (null: file absent) with their paths, and the names the models have in them. */
export interface TargetInputs {
  pck: PckFile | null;
  pckFile: string;
  eval: EvalReport | null;
  evalFile: string;
  eval16: EvalReport | null;
  eval16File: string;
  bench: BenchResults | null;
  benchFile: string;
  /** Model labels in the eval reports and results.json ("base", "gasp"), and the control ("sft-general"). */
  base: string;
  gasp: string;
  control: string;
}

/** One row of the table. */
export interface TargetRow {
  target: string;
  /** The number reached and where it comes from, or why there is none. */
  reached: string;
  met: "yes" | "no" | "not measured";
}

/** Standard errors above chance a read-out's peak PCK needs before its Y(Δt) is taken as robustness. */
export const MIN_CHANCE_Z = 3;

type Measured = { value: number | null; text: string } | null;

const sourceNamed = (r: EvalReport | null, name: string) => r?.checkpoints.find((c) => c.name === name) ?? null;
const heads = (p: PckFile | null) => p?.after.find((r) => r.source.endsWith("head embeddings")) ?? null;

function row(target: string, m: Measured, ok: (x: number) => boolean, missing: string, also?: string): TargetRow {
  if (!m) return { target, reached: `not measured: ${missing}`, met: "not measured" };
  const reached = m.value === null ? `undefined (${m.text})` : m.text;
  return {
    target,
    reached: also ? `${reached}; ${also}` : reached,
    met: m.value !== null && ok(m.value) ? "yes" : "no",
  };
}

export function targetRows(t: TargetInputs): TargetRow[] {
  const rows: TargetRow[] = [];
  const baseQk = `${t.base} Q/K`, gaspQk = `${t.gasp} Q/K`;

  // 1. Base Q/K below 5 % where chance allows it: a 16 × 16 grid (chance at δ = 2 about 3.2 %).
  const b16 = sourceNamed(t.eval16, baseQk);
  const g = t.eval16?.heldout.grid;
  const at16 = g !== undefined && g.rows === 16 && g.cols === 16;
  rows.push(row(
    "base Q/K peak PCK@2 ≤ 5 % at N = 16",
    b16 && at16
      ? {
        value: b16.peak.pck,
        text: `${pct(b16.peak.pck)} (layer ${b16.peak.layer}, chance ${pct(b16.chance.pck)}; ${t.eval16File})`,
      }
      : null,
    (x) => x <= 0.05,
    !t.eval16
      ? `\`${t.eval16File}\` absent`
      : !at16
      ? `${t.eval16File} is on a ${g!.rows} × ${g!.cols} grid, not 16 × 16`
      : `no "${baseQk}" source in ${t.eval16File}`,
  ));

  // 2. GASP's peak on the moved pairs: the heads (pck.json), else the GASP model's Q/K in the eval report.
  const h = heads(t.pck), gq = sourceNamed(t.eval, gaspQk);
  const moved: Measured = h
    ? { value: h.pckMoved, text: `${pct(h.pckMoved)} (${h.source}, layer ${h.layer}; ${t.pckFile})` }
    : gq &&
      { value: gq.peak.pckMoved, text: `${pct(gq.peak.pckMoved)} (${gaspQk}, layer ${gq.peak.layer}; ${t.evalFile})` };
  rows.push(row(
    "GASP peak PCK@2 on moved pairs ≥ 70 %",
    moved,
    (x) => x >= 0.7,
    `\`${t.pckFile}\` and \`${t.evalFile}\` absent`,
    h && gq ? `${gaspQk} ${pct(gq.peak.pckMoved)} (${t.evalFile})` : undefined,
  ));

  // 3. Temporal robustness at the largest gap of Sec 5.3. Y is a ratio of PCKs: for a read-out at chance level it
  // is about 1 whatever the gap, so it only counts when the peak layer is clearly above chance (z ≥ 3).
  const y = gq ? robustnessAt(gq, 24) : null;
  const z = gq?.layers.find((l) => l.layer === gq.peak.layer)?.chanceZ ?? null;
  const atChance = z !== null && z < MIN_CHANCE_Z;
  rows.push(row(
    "GASP Y(Δt = 24) ≥ 0.85",
    gq && {
      value: y,
      text: `${metric(y, 2)} (${gaspQk}, ${gq.robustness.split} split; ${t.evalFile})` +
        (atChance
          ? `, but its peak PCK is at chance level (z = ${metric(z, 1)} < ${MIN_CHANCE_Z}), so Y means nothing`
          : ""),
    },
    (x) => x >= 0.85 && !atChance,
    t.eval ? `no "${gaspQk}" source in ${t.evalFile}` : `\`${t.evalFile}\` absent`,
  ));

  // 4-5. Calibration ρ (Eq 13) at the peak layer.
  const bq = sourceNamed(t.eval, baseQk);
  const bp = t.pck?.before.find((r) => r.source === baseQk);
  const baseRho: Measured = bq
    ? { value: bq.peak.rho, text: `${metric(bq.peak.rho)} (${baseQk}; ${t.evalFile})` }
    : bp?.rho !== undefined
    ? { value: bp.rho, text: `${metric(bp.rho)} (${baseQk}; ${t.pckFile})` }
    : null;
  rows.push(row("base ρ < 0", baseRho, (x) => x < 0, `no "${baseQk}" ρ in \`${t.evalFile}\` or \`${t.pckFile}\``));
  const gaspRho: Measured = h?.rho !== undefined
    ? { value: h.rho, text: `${metric(h.rho)} (${h.source}; ${t.pckFile})` }
    : gq && { value: gq.peak.rho, text: `${metric(gq.peak.rho)} (${gaspQk}; ${t.evalFile})` };
  rows.push(row(
    "GASP ρ ≥ +0.5",
    gaspRho,
    (x) => x >= 0.5,
    `no GASP ρ in \`${t.pckFile}\` or \`${t.evalFile}\``,
    h?.rho !== undefined && gq ? `${gaspQk} ${metric(gq.peak.rho)} (${t.evalFile})` : undefined,
  ));

  // 6. GASP − control on the benchmarks, the paired test of results.json.
  const tests = (t.bench?.suites ?? []).flatMap((s) =>
    s.comparisons.filter((c) => c.a === t.gasp && c.b === t.control).map((c) => ({ suite: s.suite, c }))
  );
  const wins = tests.filter(({ c }) => c.diff !== null && c.diff > 0 && c.pValue !== null && c.pValue < 0.05);
  rows.push(row(
    `GASP − ${t.control} > 0 with p < 0.05 on ≥ 2 suites`,
    tests.length
      ? {
        value: wins.length,
        text: `${wins.length} of ${tests.length} suites` +
          (wins.length ? ` (${wins.map(({ suite, c }) => `${suite} p ${pValue(c.pValue)}`).join(", ")})` : "") +
          `; ${t.benchFile}`,
      }
      : null,
    (x) => x >= 2,
    t.bench ? `no ${t.gasp} − ${t.control} test in ${t.benchFile}` : `\`${t.benchFile}\` absent`,
  ));
  return rows;
}
