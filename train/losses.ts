/**
 * The training losses of Sec 4 on GPU tensors, built from runtime ops (autograd gives the gradients). Each mirrors
 * its f64 reference in train/reference/losses.ts (tests/train/losses_test.ts checks values and gradients).
 *
 * Letters: F frames, P patches per frame, D embedding width, M correspondence pairs (anchor point, target frame),
 * T tokens, V vocabulary.
 *
 * One similarity matrix per layer serves Eq 5 and Eq 6: S = Ê_anchors · Êᵀ (M, F·P) over all visual tokens of the
 * sequence, with a 0/1 candidate mask per pair row (the target frame's P patches, or every patch but the anchor for
 * Sec 5.1's "all-frames" negatives). Masked softmax / log-softmax at scale 1/τ then give A (Eq 6) and log A (Eq 5).
 */
import { Tensor } from "../core/runtime.ts";
import * as op from "../core/ops/mod.ts";
import { ShapeMismatchError } from "../core/errors.ts";
import type { CorrespondencePair, NegativeSet } from "./correspondence_pairs.ts";

/** Label value skipped by the LM loss (PyTorch / HF convention). */
export const IGNORE_INDEX = -100;

/** Host-side tensors describing the pairs of one sequence (built once, shared by every layer). */
export interface PairTensors {
  M: number;
  /** (M) anchor row f_a·P + p_a. */
  anchorRows: Int32Array;
  /** (M, F·P) 1 on Eq 5's candidates. */
  corrMask: Tensor;
  /** (M, F·P) 1 on the target frame's patches (Eq 6's candidates). */
  depthMask: Tensor;
  /** (M, F·P) one-hot of the positive. */
  positive: Tensor;
  /** (F·P, 1) Eq 7's average-pooled patch depths. */
  patchDepth: Tensor;
  /** (M, 1) d_i^b (1 where invalid, weight 0). */
  targetDepth: Tensor;
  /** (M, 1) 1/N_valid on valid points, else 0. */
  depthWeight: Tensor;
  depthCount: number;
}

export function buildPairTensors(
  pairs: CorrespondencePair[],
  frames: number,
  patches: number,
  patchDepth: ArrayLike<number>,
  negatives: NegativeSet = "target-frame",
): PairTensors {
  const M = pairs.length, N = frames * patches;
  if (patchDepth.length !== N) {
    throw new ShapeMismatchError("buildPairTensors", `patchDepth ${patchDepth.length} vs ${N}`);
  }
  const corr = new Float32Array(M * N), dep = new Float32Array(M * N), pos = new Float32Array(M * N);
  const anchorRows = new Int32Array(M), tDepth = new Float32Array(M), w = new Float32Array(M);
  const valid = pairs.map((p) => Number.isFinite(p.targetDepth) && p.targetDepth > 0);
  const nValid = valid.filter(Boolean).length;
  pairs.forEach((p, m) => {
    const a = p.anchorFrame * patches + p.anchorPatch, b0 = p.targetFrame * patches;
    anchorRows[m] = a;
    for (let j = 0; j < patches; j++) dep[m * N + b0 + j] = 1;
    if (negatives === "target-frame") corr.set(dep.subarray(m * N, (m + 1) * N), m * N);
    else for (let j = 0; j < N; j++) corr[m * N + j] = j === a ? 0 : 1;
    pos[m * N + b0 + p.targetPatch] = 1;
    tDepth[m] = valid[m] ? p.targetDepth : 1;
    w[m] = valid[m] ? 1 / nValid : 0;
  });
  return {
    M,
    anchorRows,
    corrMask: Tensor.from(corr, [M, N]),
    depthMask: Tensor.from(dep, [M, N]),
    positive: Tensor.from(pos, [M, N]),
    patchDepth: Tensor.from(Float32Array.from(patchDepth), [N, 1]),
    targetDepth: Tensor.from(tDepth, [M, 1]),
    depthWeight: Tensor.from(w, [M, 1]),
    depthCount: nValid,
  };
}

export function disposePairTensors(p: PairTensors): void {
  for (const t of [p.corrMask, p.depthMask, p.positive, p.patchDepth, p.targetDepth, p.depthWeight]) t.dispose();
}

/** S = ⟨ê_anchor, ê_j⟩ for every pair and every visual token: e (F·P, D) → (M, F·P). */
export function pairSimilarities(e: Tensor, pt: PairTensors): Tensor {
  const unit = op.l2Normalize(e, -1); // (F·P, D)
  const anchors = op.indexSelect(unit, 0, pt.anchorRows); // (M, D)
  return op.matmul(anchors, unit, { transB: true }); // (M, F·P)
}

/** Eq 5 averaged over anchors: L_corr = −(1/M) Σ_m log softmax_{candidates}(S_m / τ)[pos_m]. Scalar. */
export function infoNceLoss(sim: Tensor, pt: PairTensors, tau: number): Tensor {
  const logA = op.logSoftmax(sim, { mask: pt.corrMask, scale: 1 / tau }); // (M, F·P), 0 off-candidate
  return op.mulScalar(op.sum(op.mul(logA, pt.positive)), -1 / pt.M); // ()
}

/**
 * Eq 6-8: A = softmax over the target frame (Eq 6), d̂ = A · patchDepth (Eq 7),
 * L_depth = Σ_valid |d − d̂| / (d + d̂ + ε) / N_valid (Eq 8). Scalar.
 */
export function depthConsistencyLoss(sim: Tensor, pt: PairTensors, tau: number, eps: number): Tensor {
  const A = op.softmax(sim, { mask: pt.depthMask, scale: 1 / tau }); // (M, F·P)
  const dHat = op.matmul(A, pt.patchDepth); // (M, 1)
  const num = op.abs(op.sub(pt.targetDepth, dHat)); // (M, 1)
  const den = op.addScalar(op.add(pt.targetDepth, dHat), eps); // (M, 1)
  return op.sum(op.mul(op.div(num, den), pt.depthWeight)); // ()
}

/**
 * The positions an LM loss reads (target ≠ IGNORE_INDEX) and their targets: the forward computes logits for these
 * rows only (VlmModel.forward `logits: rows`), and lmLoss over them equals lmLoss over all T rows.
 */
export function lmLossRows(targets: Int32Array): { rows: Int32Array; targets: Int32Array } {
  const rows: number[] = [];
  targets.forEach((t, i) => {
    if (t !== IGNORE_INDEX) rows.push(i);
  });
  return { rows: Int32Array.from(rows), targets: Int32Array.from(rows, (i) => targets[i]) };
}

/** L_LM: mean cross-entropy over positions whose target is not IGNORE_INDEX. logits (T, V), targets (T). */
export function lmLoss(logits: Tensor, targets: Int32Array): Tensor {
  return op.crossEntropy(logits, targets, { ignoreIndex: IGNORE_INDEX, reduction: "mean" });
}
