/**
 * The README's held-out correspondence tables: the PCK lines of `deno task train` (pck.json: the base's sources and
 * the trivial baselines before GASP, the GASP model's after) and, when present, the `deno task eval --json` report
 * (every source with PCK@2 on all and on moved pairs, ρ at the peak layer and temporal robustness Y(Δt)).
 */
import { isAbsolute, relative } from "node:path";
import { metric, notRunYet, pct, sourceLine, table } from "./format.ts";
import type { EvalReport, PckFile } from "./inputs.ts";

/** The held-out pairs' line: how many, on which grid, the stationary baseline, moved fraction and chance. */
export function heldoutLine(h: PckFile["heldout"]): string {
  const disp = h.medianDisplacement === undefined
    ? ""
    : `; median displacement ${metric(h.medianDisplacement, 2)} tokens`;
  return `Held-out pairs: ${h.numPairs} in ${h.numSequences} sequences on a ${h.grid.rows} × ${h.grid.cols} token ` +
    `grid. Stationary ("the point did not move") PCK@2 ${pct(h.stationaryPck)} ± ${pct(h.stationaryPckStd)} (std ` +
    `over sequences); moved pairs ${pct(h.movedFraction)}; chance ${pct(h.chancePck)}${disp}.`;
}

/** Y(Δt) of a source at `dt` (its peak layer's curve), null when not measured there. */
export function robustnessAt(c: EvalReport["checkpoints"][number], dt: number): number | null {
  const i = c.robustness.deltaT.indexOf(dt);
  return i < 0 ? null : c.robustness.bestLayer.value[i] ?? null;
}

/** The pck.json table: one row per (before/after, source). */
export function pckSection(p: PckFile | null, file: string): string {
  const cmd = "deno task train";
  if (!p) return notRunYet(file, cmd);
  const hasRho = [...p.before, ...p.after].some((r) => r.rho !== undefined);
  const head = [
    "model",
    "source",
    "peak layer",
    "PCK@2 all",
    "PCK@2 moved",
    ...(hasRho ? ["ρ at peak"] : []),
    "chance",
  ];
  const row = (when: string) => (r: PckFile["before"][number]) => [
    when,
    r.source,
    String(r.layer),
    pct(r.pck),
    pct(r.pckMoved),
    ...(hasRho ? [metric(r.rho)] : []),
    pct(r.chance),
  ];
  const control = p.control?.pck ?? [];
  const groups: [string, PckFile["before"]][] = [
    ["before GASP", p.before],
    ["sft-general control", control],
    ["after GASP", p.after],
  ];
  // Per layer, every read-out with more than one layer: where along the LLM a source gains or loses.
  const layered = groups.flatMap(([when, rs]) => rs.filter((r) => r.perLayer.length > 1).map((r) => ({ when, r })));
  const L = Math.max(0, ...layered.map(({ r }) => r.perLayer.length));
  const perLayer = layered.length
    ? [
      "",
      "PCK@2 of every LLM layer (all pairs / moved pairs):",
      "",
      ...table(
        ["model", "source", ...Array.from({ length: L }, (_, l) => `layer ${l}`)],
        layered.map(({ when, r }) => [
          when,
          r.source,
          ...Array.from(
            { length: L },
            (_, l) => l < r.perLayer.length ? `${pct(r.perLayer[l])} / ${pct(r.perLayerMoved[l])}` : "—",
          ),
        ]),
      ),
    ]
    : [];
  const lmControl = p.control ? ` (sft-general control ${metric(p.control.lm, 4)})` : "";
  return [
    sourceLine(file, cmd, `(held-out peak-layer PCK@2 over its first ${p.sequences} held-out sequences)`),
    "",
    heldoutLine(p.heldout),
    "",
    ...table(head, groups.flatMap(([when, rs]) => rs.map(row(when)))),
    ...perLayer,
    "",
    `Held-out QA L_LM: base ${metric(p.lmBefore, 4)} → after GASP ${metric(p.lmAfter, 4)}${lmControl}.`,
  ].join("\n");
}

/** A path as the file gives it, made relative to `cwd` when it lies below it. */
export function shown(path: string, cwd: string): string {
  if (!isAbsolute(path)) return path;
  const r = relative(cwd, path);
  return r.startsWith("..") || isAbsolute(r) ? path : r;
}

/** The `deno task eval` command line that writes a report like `r` (rebuilt from its sources and config). */
export function evalCommand(r: EvalReport | null, file: string, cwd: string, fallback: string): string {
  if (!r) return fallback;
  const models = [...new Set(r.checkpoints.filter((c) => c.kind === "checkpoint" && c.path).map((c) => c.path!))];
  const features = r.checkpoints.filter((c) => c.kind !== "checkpoint").map((c) => c.kind);
  return [
    "deno task eval",
    ...models.map((m) => `--model ${shown(m, cwd)}`),
    ...features.map((f) => `--features ${f}`),
    `--data ${shown(r.config.data, cwd)}`,
    `--json ${file}`,
  ].join(" ");
}

/** The eval report table: every source's peak layer, PCK@2 all and moved (± std), ρ, Y(Δt = max) and chance. */
export function evalSection(r: EvalReport | null, file: string, command: string): string {
  if (!r) return notRunYet(file, command);
  const dt = r.config.maxDeltaT;
  const pm = (x: number | null, s: number | null | undefined) => (s === undefined ? pct(x) : `${pct(x)} ± ${pct(s)}`);
  const rows = r.checkpoints.map((c) => [
    c.name,
    c.kind,
    String(c.peak.layer),
    pm(c.peak.pck, c.peak.pckStd),
    pm(c.peak.pckMoved, c.peak.pckMovedStd),
    metric(c.peak.rho),
    metric(robustnessAt(c, dt), 2),
    pct(c.chance.pck),
  ]);
  const rob = r.checkpoints[0]?.robustness;
  return [
    sourceLine(file, command, r.createdAt ? `(created ${r.createdAt})` : ""),
    "",
    heldoutLine(r.heldout),
    "",
    ...table(
      ["source", "kind", "peak layer", "PCK@2 all", "PCK@2 moved", "ρ at peak", `Y(Δt = ${dt})`, "chance"],
      rows,
    ),
    "",
    `± = std over held-out sequences; ρ = Eq 13 at the peak layer; Y(Δt) = PCK(Δt) / PCK(1) of the peak layer` +
    (rob ? ` on the ${rob.split} split (${rob.numSequences} sequences)` : "") + ".",
  ].join("\n");
}
