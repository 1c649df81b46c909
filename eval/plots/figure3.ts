/**
 * The three Figure 3 panels as Vega-Lite specs, data inline, one line per checkpoint with a legend:
 * (a) layer-wise PCK ± 1 std across sequences, (b) ρ per layer ± 1 std of per-sequence ρ,
 * (c) robustness Y(Δt) at the best layer ± 1 std (solid, shaded) and the layer-mean curve (dashed).
 * Undefined values (null in report.json) are left out of the plotted rows.
 */
import type { TopLevelSpec } from "vega-lite";
import { PLOT_FONT } from "../../core/plot/render.ts";
import type { CorrespondenceReport, Num } from "../correspondence/report.ts";

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

export interface Figure3 {
  pck: TopLevelSpec;
  rho: TopLevelSpec;
  robustness: TopLevelSpec;
}

function band(value: Num, std: Num): { value: number; lo: number; hi: number } | null {
  if (value === null) return null;
  const s = std ?? 0;
  return { value, lo: value - s, hi: value + s };
}

export function layerRows(report: CorrespondenceReport, metric: "pck" | "rho"): LayerRow[] {
  const rows: LayerRow[] = [];
  for (const k of report.checkpoints) {
    for (const l of k.layers) {
      const b = metric === "pck" ? band(l.pck, l.pckStd) : band(l.rho, l.rhoStd);
      if (b) rows.push({ checkpoint: k.name, layer: l.layer, ...b });
    }
  }
  return rows;
}

export function robustnessRows(report: CorrespondenceReport): RobustnessRow[] {
  const rows: RobustnessRow[] = [];
  for (const k of report.checkpoints) {
    const r = k.robustness;
    r.deltaT.forEach((dt, i) => {
      const best = band(r.bestLayer.value[i], r.bestLayer.std[i]);
      if (best) rows.push({ checkpoint: k.name, curve: "best layer", deltaT: dt, ...best });
      const mean = band(r.layerMean.value[i], r.layerMean.std[i]);
      if (mean) rows.push({ checkpoint: k.name, curve: "mean over layers", deltaT: dt, ...mean });
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
/** Colour by checkpoint with a fixed domain, so every panel lists every checkpoint in the same colour. */
function colorBy(names: string[]) {
  return {
    field: "checkpoint",
    type: "nominal",
    scale: { domain: names },
    legend: { title: "checkpoint", orient: "right" },
  };
}
const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

type Scale = { domain?: [number, number]; domainMin?: number };

/** A dashed horizontal reference line at y (own one-row data, so it does not inherit x). */
function referenceLine(y: number) {
  return {
    data: { values: [{}] },
    mark: { type: "rule", color: "#888", strokeDash: [4, 3] },
    encoding: { y: { datum: y } },
  };
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
  title: string,
  yTitle: string,
  rows: LayerRow[],
  yScale: Scale,
  refLine: number | null,
): TopLevelSpec {
  const x = { field: "layer", type: "quantitative", title: "LLM layer", axis: { tickMinStep: 1 } };
  return {
    $schema: SCHEMA,
    title,
    width: 420,
    height: 260,
    config: CONFIG,
    data: { values: rows },
    layer: [...(refLine === null ? [] : [referenceLine(refLine)]), ...bandAndLine(names, x, yTitle, yScale)],
  } as TopLevelSpec;
}

export function figure3Specs(report: CorrespondenceReport): Figure3 {
  const t = report.config.threshold;
  const pckName = `PCK@${t.delta}`;
  const names = report.checkpoints.map((c) => c.name);
  // Chance depends only on the data's ground truth, so it is the same for every checkpoint on the same data.
  const chance = report.checkpoints[0]?.chance.pck ?? null;
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
  return {
    pck: layerPanel(
      names,
      `(a) Layer-wise correspondence: ${pckName}${chance === null ? "" : " (dashed: chance)"}`,
      pckName,
      layerRows(report, "pck"),
      { domain: [0, 1] },
      chance,
    ),
    rho: layerPanel(
      names,
      "(b) Confidence-accuracy correlation ρ",
      "Pearson ρ",
      layerRows(report, "rho"),
      { domain: [-1, 1] },
      0,
    ),
    robustness: {
      $schema: SCHEMA,
      title: "(c) Temporal robustness PCK(Δt) / PCK(1)",
      width: 420,
      height: 260,
      config: CONFIG,
      data: { values: robustnessRows(report) },
      layer: [
        referenceLine(1),
        ...bandAndLine(names, x, "normalised PCK", { domainMin: 0 }, "datum.curve === 'best layer'", dash),
      ],
    } as TopLevelSpec,
  };
}
