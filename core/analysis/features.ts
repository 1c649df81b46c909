/**
 * Feature seams of the correspondence analysis (paper Sec 5.3, App. C).
 *
 * Dimension letters: L layers, F frames, P patches per frame (grid rows × cols), D feature dim,
 * B key batches, N rows per batch.
 *
 * A feature source turns one sequence into per-layer query and key features of the visual tokens; the matcher turns
 * a frame-0 query block and a batch of target-frame key blocks into predicted patches and confidences. The analysis
 * in `analyze.ts` only talks to these two seams, so oracle/random sources (eval/), model sources (train/, the model
 * issue) and CPU/GPU matchers plug in without touching the metric code.
 */
import type { CorrespondenceSequence } from "../scene/types.ts";

/**
 * A batch of feature matrices, row-major (batch, rows, dim).
 * `data.length` must be at least batch · rows · dim (extra trailing data is ignored, so subarrays work).
 */
export interface FeatureBatch {
  /** The values, (batch, rows, dim) row-major. */
  data: Float32Array;
  /** Matrices in the batch. */
  batch: number;
  /** Rows per matrix. */
  rows: number;
  /** Feature width. */
  dim: number;
}

/**
 * How the confidence of a match is computed: the maximum probability of a softmax over the target frame's keys
 * (the paper's "maximum attention probability", Eq 13's c_i).
 * - `scaledDot`: softmax(scale · q·k) over raw (un-normalised) features. For the model's Q/K this is the attention
 *   softmax with scale = 1/√d (d = the head dim after averaging over heads, App. C).
 * - `cosine`: softmax(cos(q, k) / temperature). Used for feature sources that have no attention scale
 *   (oracle, random). The default temperature is `DEFAULT_COSINE_TEMPERATURE` = 0.1 (cosines lie in [-1, 1], so
 *   0.1 lets a confident row reach probabilities near 1 on a 64-patch grid while staying far from one-hot).
 * Argmax (the predicted patch) is always over cosine similarity (Eq 10-11) whatever the confidence rule.
 */
export type ConfidenceRule =
  | { kind: "scaledDot"; scale: number }
  | { kind: "cosine"; temperature: number };

export const DEFAULT_COSINE_TEMPERATURE = 0.1;

/** Result of matching: per key batch b and query row i, pred[b·N_q + i] ∈ [0, N_k) and its confidence in (0, 1]. */
export interface MatchResult {
  /** (B, N_q) predicted key row (patch index): argmax of cosine similarity; ties go to the lowest index. */
  pred: Int32Array;
  /** (B, N_q) maximum softmax probability of the row under the confidence rule. */
  conf: Float32Array;
}

/**
 * Match query rows against key rows (Eq 10-11).
 * Query batch `query.batch` must divide `key.batch`; key batch b uses query batch ⌊b / (key.batch / query.batch)⌋,
 * so one frame-0 query block (batch 1) serves all target frames.
 * Zero vectors: norms are clamped at 1e-12 (like torch's F.normalize), so a zero row has cosine 0 with everything
 * and its argmax is index 0 by the tie rule.
 */
export type FeatureMatcher = (
  query: FeatureBatch,
  key: FeatureBatch,
  confidence: ConfidenceRule,
) => Promise<MatchResult>;

/** Per-layer features of one sequence. */
export interface LayerFeatures {
  /** q[l]: (F, P, dim) queries of layer l, frames in sequence order, patches row-major in `seq.grid`. */
  q: Float32Array[];
  /** k[l]: (F, P, dim) keys of layer l. */
  k: Float32Array[];
  /** Feature width. */
  dim: number;
  /** Confidence rule for these features (model Q/K: scaledDot with 1/√dim). */
  confidence: ConfidenceRule;
  /**
   * Optional per-layer scalars of this sequence that the analysis averages over sequences, weighted by `weight`
   * (e.g. a model's attention shares, model_features.ts); reported per layer under their names.
   */
  scalars?: Record<string, { perLayer: number[]; weight: number }>;
}

/**
 * Where features come from. The model/training code implements this for checkpoints (per App. C: slice the visual
 * span [T_s, T_s + N_f·N_p), reshape to (N_f, N_p, ·), average over heads for GQA); eval/ implements the oracle and
 * random references.
 */
export interface LayerFeatureSource {
  /** Name shown in reports and plot legends (e.g. "oracle", "random", a checkpoint directory's name). */
  readonly name: string;
  /** Layers the source has (the analysis reports each). */
  readonly numLayers: number;
  /** Every layer's features of one sequence. */
  features(seq: CorrespondenceSequence): Promise<LayerFeatures>;
  /** Releases GPU memory etc.; optional. */
  dispose?(): Promise<void> | void;
}
