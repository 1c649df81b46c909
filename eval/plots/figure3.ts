/**
 * The three Figure 3 panels as Vega-Lite specs, data inline, one line per model read-out with a legend:
 * (a) layer-wise PCK ± 1 std across sequences, (b) ρ per layer ± 1 std of per-sequence ρ,
 * (c) robustness Y(Δt) at the best layer ± 1 std (solid, shaded) and the layer-mean curve (dashed).
 * PCK and Y(Δt) are in % like the paper's text; the shading's subtitle says how many sequences the std is over.
 * The trivial baselines are reference lines, not curves (issue 13): in (a) chance and the peak PCK of the one-layer
 * baseline sources (stationary, vision, pixels, oracle), in (c) Y = 100 % and those baselines' Y(Δt) curves, thin,
 * grey and dashed. Undefined values (null in report.json) are left out of the plotted rows.
 */
import type { TopLevelSpec } from "vega-lite";
import { PLOT_FONT } from "../../core/plot/render.ts";
import type { CheckpointReport, CorrespondenceReport, Num } from "../correspondence/report.ts";

export interface LayerRow {
  checkpoint: string;
  layer: number;
  value: number;
  lo: number;
  hi: number;
}

export interface RobustnessRow {
  checkpoint: string;
  curve: "best layer" | "mean over layers";
  deltaT: number;
  value: number;
  lo: number;
  hi: number;
}

/** A horizontal reference line of panel (a) (or a point of a reference curve in (c)). */
export interface ReferenceRow {
  name: string;
  value: number;
  deltaT?: number;
}

export interface Figure3 {
  pck: TopLevelSpec;
  rho: TopLevelSpec;
  robustness: TopLevelSpec;
}

/** Source kinds drawn as reference lines: one-layer baselines whose "curve" would be a single point. */
export const REFERENCE_KINDS: readonly CheckpointReport["kind"][] = ["stationary", "vision", "pixels", "oracle"];

const isReference = (k: CheckpointReport) => REFERENCE_KINDS.includes(k.kind);

function band(value: Num, std: Num, scale: number): { value: number; lo: number; hi: number } | null {
  if (value === null) return null;
  const s = std ?? 0;
  return { value: value * scale, lo: (value - s) * scale, hi: (value + s) * scale };
}

/** Rows of the curves (model read-outs and random): PCK in %, ρ as is. */
export function layerRows(report: CorrespondenceReport, metric: "pck" | "rho"): LayerRow[] {
  const rows: LayerRow[] = [];
  for (const k of report.checkpoints.filter((c) => !isReference(c))) {
    for (const l of k.layers) {
      const b = metric === "pck" ? band(l.pck, l.pckStd, 100) : band(l.rho, l.rhoStd, 1);
      if (b) rows.push({ checkpoint: k.name, layer: l.layer, ...b });
    }
  }
  return rows;
}

export function robustnessRows(report: CorrespondenceReport): RobustnessRow[] {
  const rows: RobustnessRow[] = [];
  for (const k of report.checkpoints.filter((c) => !isReference(c))) {
    const r = k.robustness;
    r.deltaT.forEach((dt, i) => {
      const best = band(r.bestLayer.value[i], r.bestLayer.std[i], 100);
      if (best) rows.push({ checkpoint: k.name, curve: "best layer", deltaT: dt, ...best });
      const mean = band(r.layerMean.value[i], r.layerMean.std[i], 100);
      if (mean) rows.push({ checkpoint: k.name, curve: "mean over layers", deltaT: dt, ...mean });
    });
  }
  return rows;
}

/** Panel (a)'s reference lines in %: chance, then each baseline source's peak PCK (stationary from `heldout`). */
export function pckReferenceRows(report: CorrespondenceReport): ReferenceRow[] {
  const rows: ReferenceRow[] = [];
  const chance = report.heldout?.chancePck ?? report.checkpoints[0]?.chance.pck ?? null;
  if (chance !== null) rows.push({ name: "chance", value: 100 * chance });
  for (const k of report.checkpoints.filter(isReference)) {
    const v = k.kind === "stationary" ? report.heldout?.stationaryPck ?? k.peak.pck : k.peak.pck;
    if (v !== null) rows.push({ name: k.name, value: 100 * v });
  }
  const stationary = report.heldout?.stationaryPck ?? null;
  if (!report.checkpoints.some((k) => k.kind === "stationary") && stationary !== null) {
    rows.push({ name: "stationary", value: 100 * stationary });
  }
  return rows;
}

/** Panel (c)'s reference curves: each baseline source's Y(Δt) in % (its only layer is its best layer). */
export function robustnessReferenceRows(report: CorrespondenceReport): ReferenceRow[] {
  const rows: ReferenceRow[] = [];
  for (const k of report.checkpoints.filter((c) => isReference(c) && c.kind !== "oracle")) {
    k.robustness.deltaT.forEach((dt, i) => {
      const v = k.robustness.bestLayer.value[i];
      if (v !== null) rows.push({ name: k.name, deltaT: dt, value: 100 * v });
    });
  }
  return rows;
}

const CONFIG = {
  font: PLOT_FONT,
  background: "white",
  view: { stroke: null },
  legend: { symbolType: "stroke", symbolStrokeWidth: 2.5, symbolSize: 300, symbolStrokeColor: "#444" },
} as const;
/** Colour by checkpoint with a fixed domain, so every panel lists every curve in the same colour. */
function colorBy(names: string[]) {
  return {
    field: "checkpoint",
    type: "nominal",
    scale: { domain: names },
    legend: { title: "checkpoint", orient: "right" },
  };
}
const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
const REF_COLOR = "#777";

type Scale = { domain?: [number, number]; domainMin?: number };

/** A dashed horizontal line at y (own one-row data, so it does not inherit x). */
function horizontalLine(y: number) {
  return {
    data: { values: [{}] },
    mark: { type: "rule", color: "#888", strokeDash: [4, 3] },
    encoding: { y: { datum: y } },
  };
}

/** Two text layers for labels at `ends`: sorted by value, neighbours alternate between them so close ones never overlap. */
function alternatingLabels(rows: (ReferenceRow & { label: string })[], x: object, ends: [number, number]) {
  const sorted = [...rows].sort((a, b) => a.value - b.value).map((r, i) => ({ ...r, side: i % 2 }));
  return ([["right", ends[1]], ["left", ends[0]]] as const).map(([align, at], side) => ({
    data: { values: sorted.filter((r) => r.side === side) },
    mark: {
      type: "text",
      color: "#555",
      align,
      baseline: "bottom",
      dy: -2,
      dx: align === "left" ? 3 : -3,
      fontSize: 10,
    },
    encoding: { x: { ...x, datum: at }, y: { field: "value", type: "quantitative" }, text: { field: "label" } },
  }));
}

/** Labelled dashed reference lines at each row's value, labels alternating between the ends of the x range. */
function referenceLines(rows: ReferenceRow[], xRight: number) {
  if (rows.length === 0) return [];
  return [
    {
      data: { values: rows },
      mark: { type: "rule", color: REF_COLOR, strokeDash: [5, 3], strokeWidth: 1.2 },
      encoding: { y: { field: "value", type: "quantitative" } },
    },
    ...alternatingLabels(rows.map((r) => ({ ...r, label: `${r.name} ${r.value.toFixed(1)} %` })), {}, [0, xRight]),
  ];
}

/**
 * The line with points and its shaded ±1 std band (lo..hi), for rows with x field `x`. The line layer comes first
 * so the merged colour legend shows line symbols.
 */
function bandAndLine(
  names: string[],
  x: object,
  yTitle: string,
  yScale: Scale,
  bandFilter?: string,
  dash?: object,
) {
  const color = colorBy(names);
  return [
    {
      mark: { type: "line", point: { size: 25 }, strokeWidth: 2 },
      encoding: {
        x,
        y: { field: "value", type: "quantitative", title: yTitle, scale: yScale },
        color,
        ...(dash ? { strokeDash: dash } : {}),
      },
    },
    {
      ...(bandFilter ? { transform: [{ filter: bandFilter }] } : {}),
      mark: { type: "area", opacity: 0.18, clip: true },
      encoding: {
        x,
        y: { field: "lo", type: "quantitative", scale: yScale },
        y2: { field: "hi" },
        color,
      },
    },
  ];
}

function layerPanel(
  names: string[],
  title: { text: string; subtitle: string },
  yTitle: string,
  rows: LayerRow[],
  yScale: Scale,
  refs: object[],
): TopLevelSpec {
  const x = { field: "layer", type: "quantitative", title: "LLM layer", axis: { tickMinStep: 1 } };
  return {
    $schema: SCHEMA,
    title,
    width: 420,
    height: 260,
    config: CONFIG,
    data: { values: rows },
    layer: [...refs, ...bandAndLine(names, x, yTitle, yScale)],
  } as TopLevelSpec;
}

/** "± 1 std over N sequences" (the shading), with N the largest sequence count among the curves. */
function shading(ks: CheckpointReport[], n: (k: CheckpointReport) => number, what: string): string {
  const N = Math.max(0, ...ks.map(n));
  return `shading: ± 1 std ${what} over ${N} sequences`;
}

/** Label points of the reference curves: sorted by their last value, neighbours alternate between Δt = max and max/2. */
function curveLabels(rows: ReferenceRow[], maxDt: number): ReferenceRow[] {
  const last = rows.filter((r) => r.deltaT === maxDt).sort((a, b) => a.value - b.value);
  const mid = Math.ceil(maxDt / 2);
  return last.map((r, i) => (i % 2 === 0 ? r : rows.find((m) => m.name === r.name && m.deltaT === mid) ?? r));
}

export function figure3Specs(report: CorrespondenceReport): Figure3 {
  const t = report.config.threshold;
  const pckName = `PCK@${t.delta}`;
  const curves = report.checkpoints.filter((c) => !isReference(c));
  const names = curves.map((c) => c.name);
  const maxLayer = Math.max(1, ...curves.map((c) => c.numLayers - 1));
  const maxDt = Math.max(1, ...report.checkpoints.map((c) => c.robustness.deltaT.length));
  const x = { field: "deltaT", type: "quantitative", title: "Δt (frames)", scale: { domainMin: 1 } };
  const dash = {
    field: "curve",
    type: "nominal",
    legend: {
      title: "curve",
      symbolType: "stroke",
      // vega leaves strokeDash legend symbols without a stroke colour: set it explicitly.
      encode: { symbols: { update: { stroke: { value: "#444" }, strokeWidth: { value: 2 } } } },
    },
  };
  const refCurves = robustnessReferenceRows(report);
  return {
    pck: layerPanel(
      names,
      {
        text: `(a) Layer-wise correspondence: ${pckName} (%)`,
        subtitle: `${shading(curves, (k) => k.numSequences, "across sequences")}; dashed: baselines`,
      },
      `${pckName} (%)`,
      layerRows(report, "pck"),
      { domain: [0, 100] },
      referenceLines(pckReferenceRows(report), maxLayer),
    ),
    rho: layerPanel(
      names,
      {
        text: "(b) Confidence-accuracy correlation ρ",
        subtitle: shading(curves, (k) => k.numSequences, "of per-sequence ρ"),
      },
      "Pearson ρ",
      layerRows(report, "rho"),
      { domain: [-1, 1] },
      [horizontalLine(0)],
    ),
    robustness: {
      $schema: SCHEMA,
      title: {
        text: "(c) Temporal robustness PCK(Δt) / PCK(1) (%)",
        subtitle: `${shading(curves, (k) => k.robustness.numSequences, "at the best layer")}; grey: baselines`,
      },
      width: 420,
      height: 260,
      config: CONFIG,
      data: { values: robustnessRows(report) },
      layer: [
        horizontalLine(100),
        ...(refCurves.length
          ? [
            {
              data: { values: refCurves },
              mark: { type: "line", color: REF_COLOR, strokeDash: [5, 3], strokeWidth: 1.2 },
              encoding: {
                x,
                y: { field: "value", type: "quantitative" },
                detail: { field: "name" },
              },
            },
            {
              // Each curve's name at its last point, or (every other one, by value there) at its middle point.
              data: { values: curveLabels(refCurves, maxDt) },
              mark: { type: "text", color: "#555", align: "right", baseline: "bottom", dy: -2, fontSize: 10 },
              encoding: { x, y: { field: "value", type: "quantitative" }, text: { field: "name" } },
            },
          ]
          : []),
        ...bandAndLine(names, x, "normalised PCK (%)", { domainMin: 0 }, "datum.curve === 'best layer'", dash),
      ],
    } as TopLevelSpec,
  };
}
