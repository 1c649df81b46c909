/**
 * report.json and the Markdown summary of a correspondence evaluation: one entry per checkpoint (feature source),
 * the trivial baselines among them (kind stationary / vision / pixels), and a top-level `heldout` block with the
 * stationary baseline and the motion of the held-out pairs (issue 13's JSON contract: checkpoints[].peak.pck and
 * .pckMoved, layers[].pckMoved, heldout {stationaryPck, movedFraction, grid {rows, cols}, numPairs}).
 * Undefined metrics (NaN: e.g. ρ of a layer where nothing is correct) are written as null in JSON and "—" in Markdown.
 */
import {
  type CorrespondenceAnalysis,
  layerMeanRobustnessCurve,
  layerRobustnessCurve,
} from "../../core/analysis/analyze.ts";
import type { ConfidenceRule } from "../../core/analysis/features.ts";
import type { MotionSummary } from "../../core/analysis/motion.ts";
import type { PckThreshold } from "../../core/analysis/pck.ts";
import type { PatchGrid } from "../../core/scene/types.ts";

/** 2: pckMoved, the baseline kinds, layer scalars and the `heldout` block. */
export const REPORT_SCHEMA_VERSION = 2;

/** Numbers that may be undefined are `number | null` in the report. */
export type Num = number | null;

/** One layer of one source in report.json (core/analysis/analyze.ts LayerResult, NaN as null). */
export interface LayerReport {
  /** Layer index in the source. */
  layer: number;
  /** PCK@δ, macro over sequences. */
  pck: Num;
  /** Std of the per-sequence PCKs. */
  pckStd: Num;
  /** Standard error of pck. */
  pckStdErr: Num;
  /** PCK on the moved pairs (where "the point did not move" is wrong), macro over sequences, and its std. */
  pckMoved: Num;
  /** Std over sequences of pckMoved. */
  pckMovedStd: Num;
  /** Moved pairs scored. */
  numMoved: number;
  /** Pearson ρ of confidence and correctness (Eq 13). */
  rho: Num;
  /** Std across sequences of the per-sequence ρ. */
  rhoStd: Num;
  /** Mean confidence of correct minus incorrect predictions (App. C). */
  calibrationGap: Num;
  /** Mean confidence of the correct predictions. */
  meanConfCorrect: Num;
  /** Mean confidence of the incorrect predictions. */
  meanConfIncorrect: Num;
  /** Correct predictions. */
  numCorrect: number;
  /** Predictions scored. */
  numPredictions: number;
  /** (pck − chance) / standard error of the per-sequence differences. */
  chanceZ: Num;
  /** Robustness Y(Δt) of this layer, index i ↔ Δt = i + 1. */
  robustness: Num[];
  /** The source's layer scalars (model sources: attention shares and Q/K collapse; see attention_stats.ts). */
  scalars: Record<string, Num>;
}

/** Reference feature sources; "checkpoint" is a model's read-out. */
export type SourceKind = "oracle" | "random" | "stationary" | "vision" | "pixels" | "checkpoint";

/** One feature source in report.json: its peak layer, chance, layer mean, every layer and the robustness curves. */
export interface CheckpointReport {
  /** The source's name. */
  name: string;
  /** A reference, a trivial baseline, or a model. */
  kind: SourceKind;
  /** The model path, for models loaded from disk. */
  path?: string;
  /** Layers analysed. */
  numLayers: number;
  /** Held-out sequences analysed. */
  numSequences: number;
  /** Predictions per layer. */
  numPredictions: number;
  /** Feature width. */
  featureDim: number;
  /** How confidences were computed. */
  confidence: ConfidenceRule;
  /** The data's token grid. */
  grid: PatchGrid;
  /** The peak layer (by pck) and its scores. */
  peak: {
    layer: number;
    pck: Num;
    pckStd: Num;
    /** The peak layer's (by pck) PCK on the moved pairs, and its std over sequences. */
    pckMoved: Num;
    pckMovedStd: Num;
    rho: Num;
    calibrationGap: Num;
    robustnessAtMaxDeltaT: Num;
  };
  /** Analytic chance PCK for the same ground truths: macro mean and std. */
  chance: { pck: Num; std: Num };
  /** Per-sequence PCK averaged over layers, then over sequences. */
  layerMean: { pck: Num; pckStd: Num; pckStdErr: Num; chanceZ: Num };
  /** Every layer. */
  layers: LayerReport[];
  /** Temporal robustness Y(Δt) of the peak layer and of the layer mean. */
  robustness: {
    /** The split the curves come from ("robustness": 25 consecutive frames, every Δt once per sequence). */
    split: string;
    numSequences: number;
    deltaT: number[];
    /** Predictions per Δt (same for every layer). */
    count: number[];
    bestLayer: { layer: number; value: Num[]; std: Num[] };
    layerMean: { value: Num[]; std: Num[] };
  };
}

/** The held-out pairs every source is scored on: the stationary baseline and how far the points move. */
export interface HeldoutReport {
  /** "The point did not move" (each query's own token): PCK macro over sequences, and its std. */
  stationaryPck: Num;
  /** Its std over sequences. */
  stationaryPckStd: Num;
  /** Fraction of pairs where that prediction is wrong (the pairs pckMoved scores). */
  movedFraction: Num;
  /** The token grid. */
  grid: { rows: number; cols: number };
  /** (query, target frame) pairs scored. */
  numPairs: number;
  /** Held-out sequences. */
  numSequences: number;
  /** Analytic chance PCK of the same pairs. */
  chancePck: Num;
  /** Median displacement of the tracked points, in tokens, overall and by Δt range. */
  medianDisplacement: Num;
  /** The same by Δt range (dtMax null: open-ended). */
  byDeltaT: { dtMin: number; dtMax: number | null; pairs: number; medianDisplacement: Num; stationaryPck: Num }[];
}

export function heldoutReport(m: MotionSummary): HeldoutReport {
  return {
    stationaryPck: num(m.stationaryPck),
    stationaryPckStd: num(m.stationaryPckStd),
    movedFraction: num(m.movedFraction),
    grid: { rows: m.grid.rows, cols: m.grid.cols },
    numPairs: m.numPairs,
    numSequences: m.numSequences,
    chancePck: num(m.chancePck),
    medianDisplacement: num(m.medianDisplacement),
    byDeltaT: m.byDeltaT.map((b) => ({
      dtMin: b.dtMin,
      dtMax: b.dtMax,
      pairs: b.pairs,
      medianDisplacement: num(b.medianDisplacement),
      stationaryPck: num(b.stationaryPck),
    })),
  };
}

/** report.json of `deno task eval` / {@linkcode runCorrespondenceEval}. */
export interface CorrespondenceReport {
  /** REPORT_SCHEMA_VERSION. */
  schemaVersion: number;
  /** ISO time written. */
  createdAt: string;
  /** What was evaluated and how. */
  config: {
    data: string;
    split: string;
    threshold: PckThreshold;
    maxDeltaT: number;
    limit: number | null;
    matcher: string;
    seed: number;
  };
  /** The held-out pairs' motion and stationary baseline. */
  heldout: HeldoutReport;
  /** Every source, references and baselines included. */
  checkpoints: CheckpointReport[];
}

/** NaN/±Infinity → null. */
export function num(x: number): Num {
  return Number.isFinite(x) ? x : null;
}

/**
 * One checkpoint's entry. Layer metrics come from `a` (the held-out split); the robustness curves come from `rob`
 * (another split's analysis of the same source, e.g. the robustness split) when given, else from `a`. The best-layer
 * curve is always taken at `a`'s peak layer.
 */
export function checkpointReport(
  a: CorrespondenceAnalysis,
  kind: CheckpointReport["kind"],
  opts: { path?: string; robustness?: { analysis: CorrespondenceAnalysis; split: string }; split?: string } = {},
): CheckpointReport {
  const peak = a.peakLayer >= 0 ? a.layers[a.peakLayer] : null;
  const robA = opts.robustness?.analysis ?? a;
  const best = layerRobustnessCurve(robA.layers, a.peakLayer);
  const mean = layerMeanRobustnessCurve(robA.layers);
  const path = opts.path;
  return {
    name: a.source,
    kind,
    ...(path === undefined ? {} : { path }),
    numLayers: a.numLayers,
    numSequences: a.numSequences,
    numPredictions: a.layers[0]?.numPredictions ?? 0,
    featureDim: a.featureDim,
    confidence: a.confidence,
    grid: a.grid,
    peak: {
      layer: a.peakLayer,
      pck: num(peak?.pck ?? NaN),
      pckStd: num(peak?.pckStd ?? NaN),
      pckMoved: num(peak?.pckMoved ?? NaN),
      pckMovedStd: num(peak?.pckMovedStd ?? NaN),
      rho: num(peak?.rho ?? NaN),
      calibrationGap: num(peak?.calibrationGap ?? NaN),
      robustnessAtMaxDeltaT: num(best.value[best.value.length - 1]),
    },
    chance: { pck: num(a.chance.pck), std: num(a.chance.std) },
    layerMean: {
      pck: num(a.layerMean.pck),
      pckStd: num(a.layerMean.pckStd),
      pckStdErr: num(a.layerMean.pckStdErr),
      chanceZ: num(a.layerMean.chanceZ),
    },
    layers: a.layers.map((l) => ({
      layer: l.layer,
      pck: num(l.pck),
      pckStd: num(l.pckStd),
      pckStdErr: num(l.pckStdErr),
      pckMoved: num(l.pckMoved),
      pckMovedStd: num(l.pckMovedStd),
      numMoved: l.numMoved,
      rho: num(l.rho),
      rhoStd: num(l.rhoStd),
      calibrationGap: num(l.calibrationGap),
      meanConfCorrect: num(l.meanConfCorrect),
      meanConfIncorrect: num(l.meanConfIncorrect),
      numCorrect: l.numCorrect,
      numPredictions: l.numPredictions,
      chanceZ: num(l.chanceZ),
      robustness: (robA.layers[l.layer]?.robustness ?? []).map(num),
      scalars: Object.fromEntries(Object.entries(l.scalars).map(([k, v]) => [k, num(v)])),
    })),
    robustness: {
      split: opts.robustness?.split ?? opts.split ?? "heldout",
      numSequences: robA.numSequences,
      deltaT: best.deltaT,
      count: robA.layers[0]?.countByDeltaT ?? [],
      bestLayer: { layer: a.peakLayer, value: best.value.map(num), std: best.std.map(num) },
      layerMean: { value: mean.value.map(num), std: mean.std.map(num) },
    },
  };
}

export function reportToJson(r: CorrespondenceReport): string {
  return JSON.stringify(r, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2) + "\n";
}

/** Fixed-point formatting; null/NaN → "—". */
export function fmt(x: Num | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(digits);
}

const pct = (x: Num) => (x === null ? "—" : `${(100 * x).toFixed(1)} %`);

/** The held-out block: stationary baseline, moved fraction, chance and the motion by Δt. */
export function heldoutMarkdown(h: HeldoutReport): string[] {
  const dt = (b: HeldoutReport["byDeltaT"][0]) =>
    b.dtMax === null ? `≥ ${b.dtMin}` : b.dtMin === b.dtMax ? `${b.dtMin}` : `${b.dtMin}-${b.dtMax}`;
  return [
    `Held-out pairs: ${h.numPairs} in ${h.numSequences} sequences on a ${h.grid.rows} × ${h.grid.cols} grid. ` +
    `Stationary ("the point did not move") PCK ${pct(h.stationaryPck)} ± ${pct(h.stationaryPckStd)} (std over ` +
    `sequences); moved pairs ${pct(h.movedFraction)}; chance ${pct(h.chancePck)}; median displacement ` +
    `${fmt(h.medianDisplacement, 2)} tokens.`,
    "",
    "| Δt | pairs | median displacement (tokens) | stationary PCK |",
    "| --- | --- | --- | --- |",
    ...h.byDeltaT.map((b) => `| ${dt(b)} | ${b.pairs} | ${fmt(b.medianDisplacement, 2)} | ${pct(b.stationaryPck)} |`),
  ];
}

export function reportToMarkdown(r: CorrespondenceReport): string {
  const c = r.config;
  const rule = c.threshold.inclusive ? "d ≤ δ" : "d < δ";
  const out: string[] = [
    "# Correspondence analysis (Sec 5.3, App. C)",
    "",
    `Data: \`${c.data}\` (${c.split}), PCK@${c.threshold.delta} (${rule}, patch units), Δt ≤ ${c.maxDeltaT}, ` +
    `matcher: ${c.matcher}, created ${r.createdAt}.`,
    "",
    ...heldoutMarkdown(r.heldout),
    "",
    "| checkpoint | kind | layers | sequences | peak layer | peak PCK | peak PCK moved | ρ at peak | gap at peak | Y(Δt=" +
    c.maxDeltaT + ") | mean PCK over layers | chance |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const k of r.checkpoints) {
    out.push(
      `| ${k.name} | ${k.kind} | ${k.numLayers} | ${k.numSequences} | ${k.peak.layer} | ${pct(k.peak.pck)} ± ${
        pct(k.peak.pckStd)
      } | ${pct(k.peak.pckMoved)} ± ${pct(k.peak.pckMovedStd)} | ${fmt(k.peak.rho)} | ${fmt(k.peak.calibrationGap)} | ${
        fmt(k.peak.robustnessAtMaxDeltaT)
      } | ${pct(k.layerMean.pck)} (z vs chance ${fmt(k.layerMean.chanceZ, 2)}) | ${pct(k.chance.pck)} |`,
    );
  }
  for (const k of r.checkpoints) {
    const conf = k.confidence.kind === "cosine"
      ? `softmax(cos / ${k.confidence.temperature})`
      : `softmax(${fmt(k.confidence.scale, 4)} · q·k)`;
    out.push(
      "",
      `## ${k.name}`,
      "",
      `${k.kind}${k.path ? ` \`${k.path}\`` : ""}; ${k.numPredictions} predictions per layer on a ` +
        `${k.grid.rows} × ${k.grid.cols} grid; feature dim ${k.featureDim}; confidence = max ${conf}.`,
      "",
      "| layer | PCK | ± std | PCK moved | ± std | ρ | calibration gap | conf correct | conf incorrect | correct / total |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    );
    for (const l of k.layers) {
      out.push(
        `| ${l.layer} | ${fmt(l.pck)} | ${fmt(l.pckStd)} | ${fmt(l.pckMoved)} | ${fmt(l.pckMovedStd)} | ${
          fmt(l.rho)
        } | ${fmt(l.calibrationGap)} | ${fmt(l.meanConfCorrect)} | ${
          fmt(l.meanConfIncorrect)
        } | ${l.numCorrect} / ${l.numPredictions} |`,
      );
    }
    const names = [...new Set(k.layers.flatMap((l) => Object.keys(l.scalars)))];
    if (names.length) {
      out.push(
        "",
        "Attention and Q/K collapse per layer (attention_stats.ts; …Uniform = uniform causal attention):",
        "",
        "| layer | " + names.join(" | ") + " |",
        "| --- | " + names.map(() => "---").join(" | ") + " |",
      );
      for (const l of k.layers) {
        out.push(`| ${l.layer} | ${names.map((n) => fmt(l.scalars[n] ?? null, 4)).join(" | ")} |`);
      }
    }
    const shown = k.robustness.deltaT.map((_, i) => i).filter((i) => k.robustness.count[i] > 0);
    out.push(
      "",
      `Temporal robustness Y(Δt) = PCK(Δt) / PCK(1) on the ${k.robustness.split} split ` +
        `(${k.robustness.numSequences} sequences), best layer = held-out peak layer:`,
      "",
      "| Δt | " + shown.map((i) => k.robustness.deltaT[i]).join(" | ") + " |",
      "| --- | " + shown.map(() => "---").join(" | ") + " |",
      `| best layer (${k.robustness.bestLayer.layer}) | ` +
        shown.map((i) => fmt(k.robustness.bestLayer.value[i], 2)).join(" | ") + " |",
      "| mean over layers | " + shown.map((i) => fmt(k.robustness.layerMean.value[i], 2)).join(" | ") + " |",
      "| predictions | " + shown.map((i) => String(k.robustness.count[i])).join(" | ") + " |",
    );
  }
  out.push(
    "",
    "Figures: `fig3_pck.svg|png` (layer-wise PCK ± 1 std across sequences), `fig3_rho.svg|png` (ρ per layer ± 1 std of",
    "per-sequence ρ), `fig3_robustness.svg|png` (Y(Δt) at the best layer ± 1 std; dashed: layer-mean curve).",
    "",
  );
  return out.join("\n");
}
