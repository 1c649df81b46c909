/**
 * The training losses of Sec 4 as plain f64 functions with analytic gradients: the reference the GPU losses are
 * tested against (the product losses are train/losses.ts). Equation numbers refer to reference/gasp-paper.md.
 *
 * Dimension letters: F frames, P patches per frame (grid rows · cols), D embedding width, T tokens, V vocabulary,
 * M correspondence pairs (anchor point, target frame).
 *
 * Correspondence embeddings are E (F, P, D), the head output of one layer for every visual token of a sequence
 * (frame-major, row-major patches: index (f · P + p) · D). Similarities are cosines of L2-normalised embeddings,
 * s_j = ⟨ê_i^a, ê_j^b⟩ / τ, computed once per pair and shared by Eq 5 and Eq 6.
 *
 * Temperature τ: the paper does not state it; we default to 0.07 (MoCo / CLIP's InfoNCE temperature). With P = 64
 * candidates a cosine gap of 0.3 already gives the positive e^{0.3/0.07} ≈ 73× the weight of a negative, sharp
 * enough for Eq 7's soft-argmax to approach the true patch's depth, without the gradient collapse of τ ≪ 0.05.
 */
import { ShapeMismatchError } from "../../core/errors.ts";
import { type MatF64, zeros } from "../mat_f64.ts";
import type { CorrespondencePair, NegativeSet } from "../correspondence_pairs.ts";
import { IGNORE_INDEX } from "../losses.ts";

/** Default InfoNCE temperature (see file comment). */
export const DEFAULT_TAU = 0.07;
/** Eq 8's ε: keeps the relative depth error finite when d and d̂ are both ~0. */
export const DEFAULT_DEPTH_EPS = 1e-6;

/** Per-layer correspondence embeddings of one sequence: data[(f · patches + p) · dim + c]. */
export interface FrameEmbeddings {
  frames: number;
  patches: number;
  dim: number;
  data: Float64Array; // (F, P, D)
}

export interface LossWithGrad {
  loss: number;
  /** dL/dE with E's layout (F, P, D). */
  grad: Float64Array;
  /** Number of terms averaged (anchors for Eq 5, valid points for Eq 8); the loss is 0 when it is 0. */
  count: number;
}

interface Normalised {
  unit: Float64Array; // (F·P, D)  ê = e / ‖e‖
  norm: Float64Array; // (F·P)
}

function normalise(e: FrameEmbeddings): Normalised {
  const n = e.frames * e.patches;
  if (e.data.length !== n * e.dim) throw new ShapeMismatchError("embeddings", `${e.data.length} values vs F·P·D`);
  const unit = new Float64Array(e.data.length);
  const norm = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let c = 0; c < e.dim; c++) s += e.data[r * e.dim + c] ** 2;
    const nr = Math.max(Math.sqrt(s), 1e-12);
    norm[r] = nr;
    for (let c = 0; c < e.dim; c++) unit[r * e.dim + c] = e.data[r * e.dim + c] / nr;
  }
  return { unit, norm };
}

/** Eq 5/6: s_j = ⟨ê_anchor, ê_j⟩ / τ over the candidate rows, A = softmax(s); pos indexes the positive in rows. */
function pairSoftmax(
  e: FrameEmbeddings,
  nrm: Normalised,
  pair: CorrespondencePair,
  tau: number,
  negatives: NegativeSet = "target-frame",
) {
  const { patches: P, dim: D } = e;
  if (pair.anchorFrame >= e.frames || pair.targetFrame >= e.frames || pair.anchorPatch >= P || pair.targetPatch >= P) {
    throw new ShapeMismatchError("correspondence pair", `${JSON.stringify(pair)} outside (F=${e.frames}, P=${P})`);
  }
  const aRow = pair.anchorFrame * P + pair.anchorPatch;
  const bRow0 = pair.targetFrame * P;
  const posRow = bRow0 + pair.targetPatch;
  let rows: Int32Array;
  if (negatives === "target-frame") rows = Int32Array.from({ length: P }, (_, j) => bRow0 + j);
  else rows = Int32Array.from({ length: e.frames * P - 1 }, (_, j) => (j < aRow ? j : j + 1));
  const pos = rows.indexOf(posRow);
  const s = new Float64Array(rows.length);
  let max = -Infinity;
  for (let j = 0; j < rows.length; j++) {
    let dot = 0;
    for (let c = 0; c < D; c++) dot += nrm.unit[aRow * D + c] * nrm.unit[rows[j] * D + c];
    s[j] = dot / tau;
    max = Math.max(max, s[j]);
  }
  const A = new Float64Array(rows.length);
  let z = 0;
  for (let j = 0; j < rows.length; j++) z += A[j] = Math.exp(s[j] - max);
  for (let j = 0; j < rows.length; j++) A[j] /= z;
  return { aRow, bRow0, rows, pos, s, A, logZ: max + Math.log(z) };
}

/** Adds dL/ds_j (for all j of one pair) into dL/dê, using ∂s_j/∂ê_a = ê_j/τ and ∂s_j/∂ê_j = ê_a/τ. */
function backpropSimilarities(
  gUnit: Float64Array,
  nrm: Normalised,
  D: number,
  aRow: number,
  rows: Int32Array,
  dS: Float64Array,
  tau: number,
): void {
  for (let j = 0; j < dS.length; j++) {
    const g = dS[j] / tau;
    if (g === 0) continue;
    const bRow = rows[j];
    for (let c = 0; c < D; c++) {
      gUnit[aRow * D + c] += g * nrm.unit[bRow * D + c];
      gUnit[bRow * D + c] += g * nrm.unit[aRow * D + c];
    }
  }
}

/** Through the L2 normalisation: dL/de = (dL/dê − (ê · dL/dê) ê) / ‖e‖. */
function backpropNormalise(gUnit: Float64Array, nrm: Normalised, D: number): Float64Array {
  const grad = new Float64Array(gUnit.length);
  for (let r = 0; r < nrm.norm.length; r++) {
    let dot = 0;
    for (let c = 0; c < D; c++) dot += nrm.unit[r * D + c] * gUnit[r * D + c];
    for (let c = 0; c < D; c++) grad[r * D + c] = (gUnit[r * D + c] - dot * nrm.unit[r * D + c]) / nrm.norm[r];
  }
  return grad;
}

/**
 * Eq 5, averaged over anchors: L_corr = (1/M) Σ_i −log( exp(s_pos) / Σ_{j ∈ candidates} exp(s_j) ), where by
 * default the negatives are all other patches of the target frame b (see NegativeSet for Sec 5.1's variant).
 * Gradient: dL_i/ds_j = A_ij − [j = pos] (softmax minus one-hot), then through the cosines and the normalisation.
 */
export function infoNceLoss(
  e: FrameEmbeddings,
  pairs: CorrespondencePair[],
  tau = DEFAULT_TAU,
  negatives: NegativeSet = "target-frame",
): LossWithGrad {
  const nrm = normalise(e);
  const gUnit = new Float64Array(e.data.length);
  const M = pairs.length;
  let loss = 0;
  for (const pair of pairs) {
    const { aRow, rows, pos, s, A, logZ } = pairSoftmax(e, nrm, pair, tau, negatives);
    loss += logZ - s[pos];
    const dS = A.map((a, j) => (a - (j === pos ? 1 : 0)) / M);
    backpropSimilarities(gUnit, nrm, e.dim, aRow, rows, dS, tau);
  }
  return { loss: M > 0 ? loss / M : 0, grad: backpropNormalise(gUnit, nrm, e.dim), count: M };
}

/**
 * Eq 6-8: A_ij = softmax_j(s_j) over the target frame's patches (Eq 6, Eq 5's similarities), expected depth
 * d̂_i^b = Σ_j A_ij d_j^b over average-pooled patch depths (Eq 7), and the relative L1
 * L_depth = (1/N_valid) Σ_{i valid} |d_i^b − d̂_i^b| / (d_i^b + d̂_i^b + ε) (Eq 8).
 * Valid points: finite d_i^b > 0 (visible in both frames with a depth; pairs already require visibility).
 * patchDepth (F, P) is CorrespondenceSequence.patchDepth (0 for a patch with no valid pixel; it stays a candidate).
 */
export function depthConsistencyLoss(
  e: FrameEmbeddings,
  pairs: CorrespondencePair[],
  patchDepth: Float32Array | Float64Array,
  tau = DEFAULT_TAU,
  eps = DEFAULT_DEPTH_EPS,
): LossWithGrad {
  if (patchDepth.length !== e.frames * e.patches) {
    throw new ShapeMismatchError(
      "depthConsistencyLoss",
      `patchDepth ${patchDepth.length} vs F·P ${e.frames * e.patches}`,
    );
  }
  const nrm = normalise(e);
  const gUnit = new Float64Array(e.data.length);
  const valid = pairs.filter((p) => Number.isFinite(p.targetDepth) && p.targetDepth > 0);
  const N = valid.length;
  let loss = 0;
  for (const pair of valid) {
    const { aRow, bRow0, rows, A } = pairSoftmax(e, nrm, pair, tau);
    const depths = patchDepth.subarray(bRow0, bRow0 + e.patches);
    let dHat = 0; // Eq 7
    for (let j = 0; j < A.length; j++) dHat += A[j] * depths[j];
    const d = pair.targetDepth;
    const u = d - dHat;
    const w = d + dHat + eps;
    loss += Math.abs(u) / w; // Eq 8
    // fwd: r = |u| / w, u = d − d̂, w = d + d̂ + ε  ⇒  dr/dd̂ = −sign(u)/w − |u|/w²
    const dR = -Math.sign(u) / w - Math.abs(u) / (w * w);
    // fwd: d̂ = Σ_j A_j D_j, A = softmax(s)  ⇒  dd̂/ds_j = A_j (D_j − d̂)
    const dS = A.map((a, j) => (dR * a * (depths[j] - dHat)) / N);
    backpropSimilarities(gUnit, nrm, e.dim, aRow, rows, dS, tau);
  }
  return { loss: N > 0 ? loss / N : 0, grad: backpropNormalise(gUnit, nrm, e.dim), count: N };
}

/**
 * The paper's App. E Eq 20 for one anchor e_i with positive j (single pair, anchor not among its own candidates):
 * ∂L/∂e_i = (1/τ) [ Σ_k p_k ∂sim(e_i, e_k)/∂e_i − ∂sim(e_i, e_j)/∂e_i ], with
 * ∂sim(e_i, e_k)/∂e_i = (ê_k − ⟨ê_i, ê_k⟩ ê_i) / ‖e_i‖. Returns (D). Used to cross-check infoNceLoss's gradient.
 */
export function infoNceAnchorGradEq20(e: FrameEmbeddings, pair: CorrespondencePair, tau = DEFAULT_TAU): Float64Array {
  const nrm = normalise(e);
  const { aRow, bRow0, A } = pairSoftmax(e, nrm, pair, tau);
  const D = e.dim;
  const dSim = (k: number) => {
    const row = bRow0 + k;
    let cos = 0;
    for (let c = 0; c < D; c++) cos += nrm.unit[aRow * D + c] * nrm.unit[row * D + c];
    return Float64Array.from(
      { length: D },
      (_, c) => (nrm.unit[row * D + c] - cos * nrm.unit[aRow * D + c]) / nrm.norm[aRow],
    );
  };
  const g = new Float64Array(D);
  for (let k = 0; k < A.length; k++) {
    const dk = dSim(k);
    for (let c = 0; c < D; c++) g[c] += A[k] * dk[c];
  }
  const dj = dSim(pair.targetPatch);
  for (let c = 0; c < D; c++) g[c] = (g[c] - dj[c]) / tau;
  return g;
}

/**
 * L_LM: mean cross-entropy over the tokens whose target is not IGNORE_INDEX (answer tokens only).
 * logits (T, V); targets (T) already shifted: targets[t] is the token predicted at position t.
 * Gradient: (softmax(logits_t) − onehot(target_t)) / N_counted on counted rows, 0 on ignored rows.
 */
export function lmLoss(logits: MatF64, targets: Int32Array): { loss: number; grad: MatF64; count: number } {
  if (targets.length !== logits.rows) {
    throw new ShapeMismatchError("lmLoss", `targets ${targets.length} vs T ${logits.rows}`);
  }
  const V = logits.cols;
  const grad = zeros(logits.rows, V);
  const rows = [...targets.keys()].filter((t) => targets[t] !== IGNORE_INDEX);
  let loss = 0;
  for (const t of rows) {
    const y = targets[t];
    if (!(y >= 0 && y < V)) throw new ShapeMismatchError("lmLoss", `target ${y} at position ${t} outside [0, ${V})`);
    const row = logits.data.subarray(t * V, (t + 1) * V);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let z = 0;
    for (const v of row) z += Math.exp(v - max);
    const logZ = max + Math.log(z);
    loss += logZ - row[y];
    for (let c = 0; c < V; c++) grad.data[t * V + c] = (Math.exp(row[c] - logZ) - (c === y ? 1 : 0)) / rows.length;
  }
  return { loss: rows.length > 0 ? loss / rows.length : 0, grad, count: rows.length };
}

/**
 * Next-token targets that train on answer tokens only: targets[t] = tokens[t + 1] where token t + 1 is part of an
 * answer, else IGNORE_INDEX (the last position never has a target).
 */
export function lmTargetsFromAnswerMask(tokens: ArrayLike<number>, isAnswer: ArrayLike<boolean | number>): Int32Array {
  if (tokens.length !== isAnswer.length) {
    throw new ShapeMismatchError(
      "lmTargetsFromAnswerMask",
      `${tokens.length} tokens vs ${isAnswer.length} mask entries`,
    );
  }
  const out = new Int32Array(tokens.length).fill(IGNORE_INDEX);
  for (let t = 0; t + 1 < tokens.length; t++) if (isAnswer[t + 1]) out[t] = tokens[t + 1];
  return out;
}

export interface LossWeights {
  /** λ_c of Eq 9 (App. B: 0.3). */
  lambdaC: number;
  /** λ_d of Eq 9 (App. B: 1.0). */
  lambdaD: number;
}

export const PAPER_LOSS_WEIGHTS: LossWeights = { lambdaC: 0.3, lambdaD: 1.0 };

/**
 * Eq 9: L_total = L_LM + λ_c L_corr + λ_d L_depth. The same weights scale each term's gradient, so the caller seeds
 * each loss's backward with `gradScale` (1, λ_c, λ_d). Terms that are absent (no pairs, no answer tokens) pass 0.
 */
export function totalLoss(
  parts: { lm: number; corr: number; depth: number },
  w: LossWeights = PAPER_LOSS_WEIGHTS,
): { total: number; gradScale: { lm: number; corr: number; depth: number } } {
  return {
    total: parts.lm + w.lambdaC * parts.corr + w.lambdaD * parts.depth,
    gradScale: { lm: 1, corr: w.lambdaC, depth: w.lambdaD },
  };
}
