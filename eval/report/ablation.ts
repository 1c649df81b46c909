/**
 * The README's ablation table (issue 13 item 6: why the backbone does not change) from ablation.json of
 * `deno task ablate` (train/ablation.ts, "gasp-ablation/1"): one row per run with its overrides, head PCK@2 all /
 * moved, Q/K raw and centred, the hidden states' cosine read-out (peak layer and mean over layers, moved pairs),
 * every attention scalar the rows carry (mean over layers), held-out L_LM, any other
 * numeric field of a row, and the benchmark difference against the control per suite with its p-value.
 */
import { heldoutLine } from "./correspondence.ts";
import { commandFrom, metric, notRunYet, pct, points, pValue, sourceLine, table } from "./format.ts";
import type { AblationFile } from "./inputs.ts";

/** The default command of the ablation runs. */
export const ABLATION_COMMAND = "deno task ablate";

type Row = AblationFile["rows"][number];

/** Row fields shown by their own columns, or not at all (the resolved config, paths, timings, per-layer lists). */
const KNOWN = new Set([
  "name",
  "description",
  "preset",
  "overrides",
  "steps",
  "head",
  "qk",
  "qkCentred",
  "hidden",
  "attention",
  "heldoutLm",
  "bench",
  "config",
  "runDir",
  "trainSeconds",
]);

/** Every numeric leaf of `value` by dotted key (null counts: undefined in the run); arrays are left out. */
export function numericLeaves(value: unknown, prefix = ""): [string, number | null][] {
  if (typeof value === "number" || value === null) return prefix ? [[prefix, value]] : [];
  if (typeof value !== "object" || Array.isArray(value)) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
    numericLeaves(v, prefix ? `${prefix}.${k}` : k)
  );
}

/** The table's columns: fixed ones, the attention scalars, extra numeric fields, and one per benchmark suite. */
export function ablationColumns(a: AblationFile): { attention: string[]; extra: string[]; suites: string[] } {
  const union = (f: (r: Row) => string[]) => [...new Set(a.rows.flatMap(f))];
  return {
    attention: union((r) => Object.keys(r.attention)),
    extra: union((r) =>
      numericLeaves(Object.fromEntries(Object.entries(r).filter(([k]) => !KNOWN.has(k)))).map(([k]) => k)
    ),
    suites: union((r) => Object.keys(r.bench?.suites ?? {})),
  };
}

/** Mean of a per-layer list (null when empty or any is undefined). */
function layerMean(xs: readonly (number | null)[] | undefined): number | null {
  if (!xs?.length || xs.some((x) => x === null)) return null;
  return (xs as number[]).reduce((a, b) => a + b, 0) / xs.length;
}

/** Overrides as one line of dotted keys ("data.framePositions=video"); empty for the paper's settings. */
function overridesText(o: unknown, prefix = ""): string[] {
  if (o === null || typeof o !== "object" || Array.isArray(o)) return prefix ? [`${prefix}=${JSON.stringify(o)}`] : [];
  return Object.entries(o as Record<string, unknown>).flatMap(([k, v]) =>
    overridesText(v, prefix ? `${prefix}.${k}` : k)
  );
}

export function ablationCommand(a: AblationFile | null): string {
  return commandFrom(a?.argv, "ablate");
}

export function ablationSection(a: AblationFile | null, file: string): string {
  if (!a) return notRunYet(file, ABLATION_COMMAND);
  const cols = ablationColumns(a);
  const controls = [...new Set(a.rows.flatMap((r) => (r.bench ? [r.bench.control] : [])))];
  const head = [
    "run",
    "what",
    "overrides",
    "steps",
    "head PCK@2 all",
    "head moved",
    "Q/K all",
    "Q/K moved",
    "Q/K centred all",
    "Q/K centred moved",
    "hidden moved (peak)",
    "hidden moved (layer mean)",
    ...cols.attention,
    "held-out L_LM",
    ...cols.extra,
    ...cols.suites.map((s) => `Δ ${s} (p)`),
  ];
  const rows = a.rows.map((r) => {
    const extra = new Map(numericLeaves(r));
    const bench = (s: string) => {
      const d = r.bench?.suites[s];
      if (!d) return "";
      return d.diff === null ? `${pct(d.score)} (control)` : `${points(d.diff)} (p ${pValue(d.pValue)})`;
    };
    return [
      r.name,
      r.description ?? "",
      overridesText(r.overrides).join(", "),
      r.steps === undefined ? "" : String(r.steps),
      r.head ? pct(r.head.pck) : "no heads",
      r.head ? pct(r.head.pckMoved) : "",
      pct(r.qk.pck),
      pct(r.qk.pckMoved),
      pct(r.qkCentred.pck),
      pct(r.qkCentred.pckMoved),
      r.hidden ? pct(r.hidden.pckMoved) : "",
      r.hidden ? pct(layerMean(r.hidden.perLayerMoved)) : "",
      ...cols.attention.map((k) => (r.attention[k] ? metric(r.attention[k].mean, 4) : "")),
      metric(r.heldoutLm, 4),
      ...cols.extra.map((k) => (extra.has(k) ? metric(extra.get(k)) : "")),
      ...cols.suites.map(bench),
    ];
  });
  return [
    sourceLine(file, ablationCommand(a), a.createdAt ? `(created ${a.createdAt})` : ""),
    "",
    ...(a.heldout ? [heldoutLine(a.heldout), ""] : []),
    ...table(head, rows),
    "",
    `Peak-layer PCK@2 on the first ${a.pckSequences} held-out sequences; attention columns: mean over layers ` +
    `(…Uniform: uniform causal attention); Δ: headline score − the control (${controls.join(", ") || "—"}) in ` +
    `points with the paired test's p. Empty cells: the row does not carry that metric; —: undefined in the run.` +
    (a.notes?.length ? ` Notes of the run: ${a.notes.join("; ")}.` : ""),
  ].join("\n");
}
