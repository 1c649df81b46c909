/**
 * The loss curve of a run, from its metrics.jsonl: L_LM, L_corr, L_depth and L_total (Eq 9) per optimizer step on
 * top, the scheduled learning rate below (warmup then cosine), written as RUN/loss.svg and RUN/loss.png with the
 * Vega-Lite → Vega → resvg pipeline of core/plot/render.ts. Steps a resume recomputed appear once (the last record
 * of a step wins).
 */
import { join } from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { writeFileAtomic } from "../core/io/atomic.ts";
import { PLOT_FONT, renderSvg, svgToPng } from "../core/plot/render.ts";
import { readMetrics, type StepMetrics } from "./metrics_log.ts";

/** Series names in the legend, in plotting order. */
export const LOSS_SERIES = ["L_LM", "L_corr", "L_depth", "L_total"] as const;

export interface LossRow {
  step: number;
  term: (typeof LOSS_SERIES)[number];
  value: number;
}

/** One row per (step, term), steps ascending. */
export function lossRows(steps: StepMetrics[]): LossRow[] {
  return steps.flatMap((m) => [
    { step: m.step, term: "L_LM" as const, value: m.loss.lm },
    { step: m.step, term: "L_corr" as const, value: m.loss.corr },
    { step: m.step, term: "L_depth" as const, value: m.loss.depth },
    { step: m.step, term: "L_total" as const, value: m.loss.total },
  ]);
}

export function lossCurveSpec(steps: StepMetrics[], title: string): TopLevelSpec {
  const width = 520;
  const x = { field: "step", type: "quantitative", title: "optimizer step", axis: { tickMinStep: 1 } } as const;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    config: {
      font: PLOT_FONT,
      background: "white",
      view: { stroke: null },
      legend: { symbolType: "stroke", symbolStrokeWidth: 2.5 },
    },
    vconcat: [
      {
        width,
        height: 240,
        data: { values: lossRows(steps) },
        mark: { type: "line", point: true, strokeWidth: 2 },
        encoding: {
          x,
          y: { field: "value", type: "quantitative", title: "loss" },
          color: {
            field: "term",
            type: "nominal",
            title: "term",
            scale: { domain: [...LOSS_SERIES] },
            legend: { orient: "right" },
          },
          strokeDash: {
            field: "term",
            type: "nominal",
            scale: { domain: [...LOSS_SERIES], range: [[1, 0], [1, 0], [1, 0], [6, 3]] },
          },
        },
      },
      {
        width,
        height: 100,
        data: { values: steps.map((m) => ({ step: m.step, lr: m.lr })) },
        mark: { type: "line", point: { color: "#555" }, color: "#555" },
        encoding: { x, y: { field: "lr", type: "quantitative", title: "lr", axis: { format: ".1e" } } },
      },
    ],
  };
}

/** The run's step records, one per step (a resumed run's recomputed steps: the last record wins). */
export async function runSteps(runDir: string): Promise<StepMetrics[]> {
  const byStep = new Map<number, StepMetrics>();
  for (const r of await readMetrics(join(runDir, "metrics.jsonl"))) if (r.type === "step") byStep.set(r.step, r);
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/**
 * Writes RUN/loss.svg and RUN/loss.png from RUN/metrics.jsonl; returns the files written. The PNG needs a TTF font
 * (core/plot/render.ts); without one only the SVG is written and `pngError` says why.
 */
export async function writeLossPlot(
  runDir: string,
  title = "training loss",
): Promise<{ files: string[]; pngError?: string }> {
  const steps = await runSteps(runDir);
  const svg = await renderSvg(lossCurveSpec(steps, title));
  const svgPath = join(runDir, "loss.svg"), pngPath = join(runDir, "loss.png");
  await writeFileAtomic(svgPath, svg);
  try {
    await writeFileAtomic(pngPath, await svgToPng(svg));
  } catch (e) {
    return { files: [svgPath], pngError: (e as Error).message };
  }
  return { files: [svgPath, pngPath] };
}
