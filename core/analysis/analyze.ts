/**
 * The correspondence analysis of Sec 5.3 / App. C over a stream of sequences, for every layer of one feature source:
 * PCK@δ with its std across sequences, calibration (ρ, gap), temporal robustness, and the analytic chance level.
 *
 * What is scored: for each track t whose frame-0 patch q = targetPatch[t·F + 0] is valid and each target frame
 * k = 1…F−1 where the track is visible (gt = targetPatch[t·F + k] ≥ 0), the prediction is pred_k[q], the argmax over
 * frame k's keys of the cosine similarity with frame 0's query at patch q. Δt = |frameIndices[k] − frameIndices[0]|.
 *
 * Aggregation (documented because the paper does not say):
 * - pck: mean over sequences of each sequence's PCK (macro); pckStd: population std of those (np.std);
 *   pckStdErr: sample std / √n. pooledPck: all predictions pooled.
 * - rho, calibrationGap: over all predictions of the layer pooled across sequences; rhoStd: std across sequences of
 *   per-sequence ρ (sequences where ρ is undefined are skipped).
 * - pckByDeltaT[i]: pooled PCK at Δt = i + 1; robustness = pckByDeltaT / pckByDeltaT[0].
 * - best-layer robustness curve: the peak-PCK layer's curve; band = std across sequences of per-sequence PCK(Δt)
 *   divided by the layer's pooled PCK(1).
 * - layer-averaged robustness: ratio of layer means, mean_l PCK_l(Δt) / mean_l PCK_l(1) (robust to layers whose
 *   PCK(1) ≈ 0); band = std across layers of the per-layer curves (layers with undefined curves skipped).
 * - chance: the expected PCK of a uniformly random argmax for the same ground truths (macro over sequences);
 *   chanceZ = (pck − chance) / standard error of the per-sequence differences.
 * - pckMoved: PCK on the moved pairs only, those where predicting the query's own token ("the point did not move",
 *   core/analysis/motion.ts) is wrong; macro over the sequences that have moved pairs, pckMovedStd their std.
 *   `motion` holds the stationary baseline itself and the motion table of the same pairs.
 * - scalars: a source's per-sequence layer scalars (LayerFeatures.scalars), weighted means over sequences.
 */
import { ConfigError, ShapeMismatchError } from "../errors.ts";
import type { CorrespondenceSequence, PatchGrid } from "../scene/types.ts";
import { CalibrationAccumulator } from "./calibration.ts";
import type { ConfidenceRule, FeatureMatcher, LayerFeatureSource } from "./features.ts";
import { cpuMatcher } from "./match.ts";
import { MotionAccumulator, type MotionSummary } from "./motion.ts";
import { checkThreshold, correctCellCount, DEFAULT_PCK_THRESHOLD, isCorrectMatch, type PckThreshold } from "./pck.ts";
import { normalizeRobustness } from "./robustness.ts";
import { meanOf, standardErrorOf, stdOf } from "./stats.ts";

export const DEFAULT_MAX_DELTA_T = 24;

/** How {@linkcode analyzeCorrespondence} scores. */
export interface AnalysisOptions {
  /** PCK threshold (default δ = 2, strict, as App. C). */
  threshold?: PckThreshold;
  /** Largest Δt tracked for robustness (paper: 24). Larger gaps still count for PCK. */
  maxDeltaT?: number;
  /** Similarity/argmax/softmax implementation; the f64 CPU reference by default, the GPU matcher for real runs. */
  matcher?: FeatureMatcher;
  /** Stop after this many sequences. */
  limit?: number;
  /** Called after each sequence with the count done and its id. */
  onProgress?: (done: number, sequenceId: string) => void;
}

/** One layer's scores (see the file comment for how each is aggregated). */
export interface LayerResult {
  /** Layer index in the source. */
  layer: number;
  /** PCK@δ, macro: mean over sequences of each sequence's PCK. */
  pck: number;
  /** Population std of the per-sequence PCKs. */
  pckStd: number;
  /** Standard error of the macro PCK (sample std / √n). */
  pckStdErr: number;
  /** PCK over all predictions pooled. */
  pooledPck: number;
  /** PCK on the moved pairs (stationary prediction wrong): macro over sequences, its std, and pooled. */
  pckMoved: number;
  /** Std across sequences of pckMoved. */
  pckMovedStd: number;
  /** pckMoved pooled over all moved pairs. */
  pooledPckMoved: number;
  /** Moved pairs scored. */
  numMoved: number;
  /** Pearson ρ of confidence and correctness over the pooled predictions (Eq 13). */
  rho: number;
  /** Std across sequences of the per-sequence ρ. */
  rhoStd: number;
  /** Mean confidence of correct minus incorrect predictions (App. C). */
  calibrationGap: number;
  /** Mean confidence of the correct predictions. */
  meanConfCorrect: number;
  /** Mean confidence of the incorrect predictions. */
  meanConfIncorrect: number;
  /** Correct predictions. */
  numCorrect: number;
  /** Predictions scored. */
  numPredictions: number;
  /** (pck − chance) / standard error of the per-sequence differences. */
  chanceZ: number;
  /** Index i ↔ Δt = i + 1. */
  pckByDeltaT: number[];
  /** Std across sequences of the per-sequence PCK(Δt). */
  pckByDeltaTStd: number[];
  /** Predictions at each Δt. */
  countByDeltaT: number[];
  /** Y(Δt) = pckByDeltaT / pckByDeltaT[0] (Sec 5.3). */
  robustness: number[];
  /** The source's layer scalars (LayerFeatures.scalars) averaged over sequences; {} when it has none. */
  scalars: Record<string, number>;
}

/** A temporal-robustness curve Y(Δt) with its band. */
export interface RobustnessCurve {
  /** The gaps, 1 … maxDeltaT. */
  deltaT: number[];
  /** Y at each gap. */
  value: number[];
  /** Its band (see the file comment). */
  std: number[];
}

/** Every layer's scores of one feature source over a split. */
export interface CorrespondenceAnalysis {
  /** The source's name. */
  source: string;
  /** Layers analysed. */
  numLayers: number;
  /** Sequences analysed. */
  numSequences: number;
  /** The token grid of the data. */
  grid: PatchGrid;
  /** The PCK threshold used. */
  threshold: PckThreshold;
  /** Largest Δt tracked. */
  maxDeltaT: number;
  /** How confidences were computed. */
  confidence: ConfidenceRule;
  /** Feature width. */
  featureDim: number;
  /** Analytic chance PCK (a uniformly random argmax) for the same ground truths: macro mean and std. */
  chance: { pck: number; std: number };
  /** Per layer. */
  layers: LayerResult[];
  /** Layer with the highest pck (first on ties); -1 if no layer could be scored. */
  peakLayer: number;
  /** Per-sequence PCK averaged over layers, then over sequences. */
  layerMean: { pck: number; pckStd: number; pckStdErr: number; chanceZ: number };
  /** Y(Δt) of the peak layer. */
  robustnessBestLayer: RobustnessCurve;
  /** Y(Δt) of the layer mean (ratio of layer means). */
  robustnessLayerMean: RobustnessCurve;
  /** The stationary baseline and motion of the scored pairs (the same for every source on the same data). */
  motion: MotionSummary;
}

/** Per-layer state while streaming. */
interface LayerState {
  calib: CalibrationAccumulator;
  seqPck: number[];
  seqRho: number[];
  correctByDt: number[];
  totalByDt: number[];
  /** seqPckByDt[i][s]: PCK of sequence s at Δt = i + 1 (NaN if that sequence has no such gap). */
  seqPckByDt: number[][];
  seqPckMoved: number[];
  movedCorrect: number;
  moved: number;
  scalarSum: Map<string, number>;
  scalarWeight: Map<string, number>;
}

/** Runs the analysis of one feature source over the sequences. */
export async function analyzeCorrespondence(
  sequences: AsyncIterable<CorrespondenceSequence> | Iterable<CorrespondenceSequence>,
  source: LayerFeatureSource,
  options: AnalysisOptions = {},
): Promise<CorrespondenceAnalysis> {
  const [a] = await analyzeCorrespondenceMany(sequences, [source], options);
  return a;
}

/**
 * Analyses several feature sources in one pass over the sequences (each sequence is read and decoded once).
 * Results are in the order of `sources`.
 */
export async function analyzeCorrespondenceMany(
  sequences: AsyncIterable<CorrespondenceSequence> | Iterable<CorrespondenceSequence>,
  sources: LayerFeatureSource[],
  options: AnalysisOptions = {},
): Promise<CorrespondenceAnalysis[]> {
  const accs = sources.map((s) => new CorrespondenceAccumulator(s, options));
  let done = 0;
  for await (const seq of sequences) {
    if (options.limit !== undefined && done >= options.limit) break;
    for (const acc of accs) await acc.add(seq);
    done++;
    options.onProgress?.(done, seq.id);
  }
  return accs.map((a) => a.result());
}

/**
 * Streaming state of the analysis of one feature source: `await add(seq)` per sequence, then `result()`.
 * (train/ can use it to evaluate held-out PCK as sequences arrive.)
 */
export class CorrespondenceAccumulator {
  readonly threshold: PckThreshold;
  readonly maxDeltaT: number;
  #matcher: FeatureMatcher;
  #layers: LayerState[];
  #seqChance: number[] = [];
  #grid: PatchGrid | null = null;
  #confidence: ConfidenceRule | null = null;
  #featureDim = 0;
  #motion: MotionAccumulator;

  constructor(readonly source: LayerFeatureSource, options: Omit<AnalysisOptions, "limit" | "onProgress"> = {}) {
    this.threshold = options.threshold ?? DEFAULT_PCK_THRESHOLD;
    checkThreshold(this.threshold);
    const maxDt = options.maxDeltaT ?? DEFAULT_MAX_DELTA_T;
    if (!(Number.isInteger(maxDt) && maxDt >= 1)) throw new ConfigError("maxDeltaT", `expected an integer ≥ 1`);
    this.maxDeltaT = maxDt;
    this.#matcher = options.matcher ?? cpuMatcher;
    this.#layers = Array.from({ length: source.numLayers }, () => ({
      calib: new CalibrationAccumulator(),
      seqPck: [],
      seqRho: [],
      correctByDt: new Array(maxDt).fill(0),
      totalByDt: new Array(maxDt).fill(0),
      seqPckByDt: Array.from({ length: maxDt }, () => []),
      seqPckMoved: [],
      movedCorrect: 0,
      moved: 0,
      scalarSum: new Map(),
      scalarWeight: new Map(),
    }));
    this.#motion = new MotionAccumulator(this.threshold);
  }

  get numSequences(): number {
    return this.#seqChance.length;
  }

  async add(seq: CorrespondenceSequence): Promise<void> {
    const { source, threshold } = this;
    const maxDt = this.maxDeltaT;
    const L = source.numLayers;
    this.#grid ??= seq.grid;
    const F = seq.frames.length;
    const P = seq.grid.rows * seq.grid.cols;
    const queries = scoredQueries(seq);
    const stationaryRight = this.#motion.add(seq).map((m) => m.stationaryCorrect); // same pairs, same order
    const feats = await source.features(seq);
    if (feats.q.length !== L || feats.k.length !== L) {
      throw new ShapeMismatchError("analyzeCorrespondence", `${source.name} gave ${feats.q.length} layers, not ${L}`);
    }
    this.#confidence ??= feats.confidence;
    this.#featureDim = feats.dim;
    this.#seqChance.push(
      queries.length === 0 ? NaN : meanOf(queries.map((x) => correctCellCount(x.gt, seq.grid, threshold) / P)),
    );

    // One matcher call per sequence: all layers' frame-0 queries (L, P, D) against their frames 1…F−1 keys
    // (L·(F−1), P, D); key batch l·(F−1) + (k−1) uses query batch l.
    const D = feats.dim;
    const need = F * P * D;
    const qAll = new Float32Array(L * P * D); // (L, P, D)
    const kAll = new Float32Array(L * (F - 1) * P * D); // (L·(F−1), P, D)
    for (let l = 0; l < L; l++) {
      if (feats.q[l].length < need || feats.k[l].length < need) {
        throw new ShapeMismatchError(
          "analyzeCorrespondence",
          `layer ${l} features shorter than (F=${F}, P=${P}, D=${D})`,
        );
      }
      qAll.set(feats.q[l].subarray(0, P * D), l * P * D);
      kAll.set(feats.k[l].subarray(P * D, need), l * (F - 1) * P * D);
    }
    const { pred, conf } = await this.#matcher(
      { data: qAll, batch: L, rows: P, dim: D },
      { data: kAll, batch: L * (F - 1), rows: P, dim: D },
      feats.confidence,
    );

    for (let l = 0; l < L; l++) {
      const st = this.#layers[l];
      const seqCalib = new CalibrationAccumulator();
      const cByDt = new Array(maxDt).fill(0);
      const tByDt = new Array(maxDt).fill(0);
      let correct = 0, movedCorrect = 0, moved = 0;
      for (const [i, { q, k, gt, dt }] of queries.entries()) {
        const idx = (l * (F - 1) + (k - 1)) * P + q; // (L·(F−1), P) row of layer l, frame k, query patch q
        const ok = isCorrectMatch(pred[idx], gt, seq.grid.cols, threshold);
        if (ok) correct++;
        if (!stationaryRight[i]) {
          moved++;
          if (ok) movedCorrect++;
        }
        st.calib.add(conf[idx], ok);
        seqCalib.add(conf[idx], ok);
        if (dt >= 1 && dt <= maxDt) {
          tByDt[dt - 1]++;
          if (ok) cByDt[dt - 1]++;
        }
      }
      st.seqPck.push(queries.length === 0 ? NaN : correct / queries.length);
      st.seqPckMoved.push(moved === 0 ? NaN : movedCorrect / moved);
      st.moved += moved;
      st.movedCorrect += movedCorrect;
      for (const [name, { perLayer, weight }] of Object.entries(feats.scalars ?? {})) {
        if (!Number.isFinite(perLayer[l]) || !(weight > 0)) continue;
        st.scalarSum.set(name, (st.scalarSum.get(name) ?? 0) + perLayer[l] * weight);
        st.scalarWeight.set(name, (st.scalarWeight.get(name) ?? 0) + weight);
      }
      st.seqRho.push(seqCalib.rho());
      for (let i = 0; i < maxDt; i++) {
        st.correctByDt[i] += cByDt[i];
        st.totalByDt[i] += tByDt[i];
        st.seqPckByDt[i].push(tByDt[i] === 0 ? NaN : cByDt[i] / tByDt[i]);
      }
    }
  }

  result(): CorrespondenceAnalysis {
    if (this.#grid === null || this.#confidence === null) {
      throw new ConfigError("analyzeCorrespondence", "no sequences to analyse (empty data directory or limit 0)");
    }
    return summarize(this.source, this.#layers, this.#seqChance, this.#motion.result(), {
      grid: this.#grid,
      threshold: this.threshold,
      maxDt: this.maxDeltaT,
      confidence: this.#confidence,
      featureDim: this.#featureDim,
      done: this.#seqChance.length,
    });
  }
}

/** The (track query patch, target frame, ground truth, Δt) tuples a sequence contributes. */
export function scoredQueries(seq: CorrespondenceSequence): { q: number; k: number; gt: number; dt: number }[] {
  const F = seq.frames.length;
  const P = seq.grid.rows * seq.grid.cols;
  if (seq.targetPatch.length !== seq.tracks.length * F) {
    throw new ShapeMismatchError("scoredQueries", `targetPatch has ${seq.targetPatch.length}, want tracks·F`);
  }
  const out: { q: number; k: number; gt: number; dt: number }[] = [];
  for (let t = 0; t < seq.tracks.length; t++) {
    const q = seq.targetPatch[t * F];
    if (q < 0 || q >= P) continue;
    for (let k = 1; k < F; k++) {
      const gt = seq.targetPatch[t * F + k];
      if (gt < 0 || gt >= P) continue;
      out.push({ q, k, gt, dt: Math.abs(seq.frameIndices[k] - seq.frameIndices[0]) });
    }
  }
  return out;
}

function summarize(
  source: LayerFeatureSource,
  states: LayerState[],
  seqChance: number[],
  motion: MotionSummary,
  ctx: {
    grid: PatchGrid;
    threshold: PckThreshold;
    maxDt: number;
    confidence: ConfidenceRule;
    featureDim: number;
    done: number;
  },
): CorrespondenceAnalysis {
  const layers: LayerResult[] = states.map((st, layer) => {
    const gap = st.calib.gap();
    const pckByDeltaT = st.totalByDt.map((n, i) => (n === 0 ? NaN : st.correctByDt[i] / n));
    const diff = st.seqPck.map((p, s) => p - seqChance[s]);
    return {
      layer,
      pck: meanOf(st.seqPck),
      pckStd: stdOf(st.seqPck),
      pckStdErr: standardErrorOf(st.seqPck),
      pooledPck: st.calib.n === 0 ? NaN : st.calib.numCorrect / st.calib.n,
      pckMoved: meanOf(st.seqPckMoved),
      pckMovedStd: stdOf(st.seqPckMoved),
      pooledPckMoved: st.moved === 0 ? NaN : st.movedCorrect / st.moved,
      numMoved: st.moved,
      rho: st.calib.rho(),
      rhoStd: stdOf(st.seqRho),
      calibrationGap: gap.gap,
      meanConfCorrect: gap.meanConfCorrect,
      meanConfIncorrect: gap.meanConfIncorrect,
      numCorrect: st.calib.numCorrect,
      numPredictions: st.calib.n,
      chanceZ: meanOf(diff) / standardErrorOf(diff),
      pckByDeltaT,
      pckByDeltaTStd: st.seqPckByDt.map(stdOf),
      countByDeltaT: st.totalByDt.slice(),
      robustness: normalizeRobustness(pckByDeltaT),
      scalars: Object.fromEntries([...st.scalarSum].map(([k, v]) => [k, v / st.scalarWeight.get(k)!])),
    };
  });

  let peakLayer = -1;
  for (const r of layers) {
    if (!Number.isNaN(r.pck) && (peakLayer < 0 || r.pck > layers[peakLayer].pck)) peakLayer = r.layer;
  }

  const robustnessBestLayer = layerRobustnessCurve(layers, peakLayer);
  const robustnessLayerMean = layerMeanRobustnessCurve(layers);

  const nSeq = ctx.done;
  const seqLayerMean = Array.from({ length: nSeq }, (_, s) => meanOf(states.map((st) => st.seqPck[s])));
  const meanDiff = seqLayerMean.map((p, s) => p - seqChance[s]);
  return {
    source: source.name,
    numLayers: states.length,
    numSequences: nSeq,
    grid: ctx.grid,
    threshold: ctx.threshold,
    maxDeltaT: ctx.maxDt,
    confidence: ctx.confidence,
    featureDim: ctx.featureDim,
    chance: { pck: meanOf(seqChance), std: stdOf(seqChance) },
    layers,
    peakLayer,
    layerMean: {
      pck: meanOf(seqLayerMean),
      pckStd: stdOf(seqLayerMean),
      pckStdErr: standardErrorOf(seqLayerMean),
      chanceZ: meanOf(meanDiff) / standardErrorOf(meanDiff),
    },
    robustnessBestLayer,
    robustnessLayerMean,
    motion,
  };
}

/** What train/ prints: the peak layer's held-out PCK, on all pairs and on the moved pairs. */
export function peakLayerPck(a: CorrespondenceAnalysis): { layer: number; pck: number; pckMoved: number } {
  const l = a.layers[a.peakLayer];
  return { layer: a.peakLayer, pck: l ? l.pck : NaN, pckMoved: l ? l.pckMoved : NaN };
}

/**
 * Robustness curve of one layer: Y(Δt) with band = std across sequences of per-sequence PCK(Δt) / pooled PCK(1).
 * All NaN for layer −1 (no scorable layer). Use it to take another split's curve at the held-out peak layer.
 */
export function layerRobustnessCurve(layers: LayerResult[], layer: number): RobustnessCurve {
  const n = layers[0]?.pckByDeltaT.length ?? 0;
  const deltaT = Array.from({ length: n }, (_, i) => i + 1);
  const r = layers[layer];
  if (!r) return { deltaT, value: deltaT.map(() => NaN), std: deltaT.map(() => NaN) };
  const base = r.pckByDeltaT[0];
  return { deltaT, value: r.robustness.slice(), std: r.pckByDeltaTStd.map((s) => (base > 0 ? s / base : NaN)) };
}

/** Layer-averaged curve: mean_l PCK_l(Δt) / mean_l PCK_l(1); band = std across layers of the per-layer curves. */
export function layerMeanRobustnessCurve(layers: LayerResult[]): RobustnessCurve {
  const n = layers[0]?.pckByDeltaT.length ?? 0;
  const deltaT = Array.from({ length: n }, (_, i) => i + 1);
  const meanByDt = deltaT.map((_, i) => meanOf(layers.map((r) => r.pckByDeltaT[i])));
  return {
    deltaT,
    value: normalizeRobustness(meanByDt),
    std: deltaT.map((_, i) => stdOf(layers.map((r) => r.robustness[i]))),
  };
}
