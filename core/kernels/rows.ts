/**
 * Raw row kernels over the last axis (no tape): softmax / logSoftmax forward and backward, RMSNorm / LayerNorm
 * forward and backward, cross-entropy, l2Normalize along any axis, topk. Conventions in the core/ops files.
 */
import { Tensor } from "../tensor.ts";
import { ShapeMismatchError } from "../errors.ts";
import { kernelsOf } from "./backend.ts";
import { broadcastShapes, broadcastStrides, lastAxisRows, MAX_RANK, sameShape } from "./shapes.ts";
import type { CrossEntropyPlan, L2Plan, MaskMode, NormKind, NormPlan, SoftmaxPlan } from "./types.ts";

// ── softmax ──────────────────────────────────────────────────────────────────────────────────────────────────────

export function softmaxPlan(
  op: string,
  x: Tensor,
  mask: Tensor | null,
  mode: MaskMode,
  scale: number,
  log: boolean,
): SoftmaxPlan {
  if (mask) {
    if (mask.dtype !== "f32") {
      throw new ShapeMismatchError(op, `mask must be an f32 tensor (0/1 or additive), got ${mask.dtype}`);
    }
    if (!sameShape(broadcastShapes(op, x.shape, mask.shape), x.shape)) {
      throw new ShapeMismatchError(op, `mask [${mask.shape}] does not broadcast to input [${x.shape}]`);
    }
    if (x.rank > MAX_RANK) throw new ShapeMismatchError(op, `rank > ${MAX_RANK}`);
  }
  const { rows, len } = lastAxisRows(op, x);
  let m: SoftmaxPlan["mask"] = null;
  if (mask) {
    const ms = broadcastStrides(mask.shape, x.shape);
    const lead = x.rank - 1;
    m = { leadShape: x.shape.slice(0, lead), leadStrides: ms.slice(0, lead), lastStride: ms[lead] };
  }
  return { rows, len, scale, log, mode, mask: m };
}

export function softmaxForwardRaw(x: Tensor, mask: Tensor | null, plan: SoftmaxPlan): Tensor {
  const { device, k } = kernelsOf(plan.log ? "logSoftmax" : "softmax", x, mask);
  const out = Tensor.empty(x.shape, "f32", device);
  if (out.size > 0) k.softmaxForward(x, mask, out, plan);
  return out;
}

export function softmaxBackwardRaw(y: Tensor, g: Tensor, mask: Tensor | null, plan: SoftmaxPlan): Tensor {
  const { device, k } = kernelsOf(plan.log ? "logSoftmax backward" : "softmax backward", y, g, mask);
  const dx = Tensor.empty(y.shape, "f32", device);
  if (dx.size > 0) k.softmaxBackward(y, g, mask, dx, plan);
  return dx;
}

// ── norms ────────────────────────────────────────────────────────────────────────────────────────────────────────

/** out and per-row (μ, r) stats, shape (rows, 2). */
export function normForwardRaw(
  kind: NormKind,
  x: Tensor,
  w: Tensor | null,
  b: Tensor | null,
  eps: number,
): { out: Tensor; stats: Tensor; plan: NormPlan } {
  const op = kind === "rms" ? "rmsNorm" : "layerNorm";
  const { rows, len } = lastAxisRows(op, x);
  for (const [t, nm] of [[w, "weight"], [b, "bias"]] as const) {
    if (t && t.size !== len) throw new ShapeMismatchError(op, `${nm} [${t.shape}] for ${len} channels`);
  }
  const { device, k } = kernelsOf(op, x, w, b);
  const plan: NormPlan = { kind, rows, len, eps };
  const out = Tensor.empty(x.shape, "f32", device);
  const stats = Tensor.empty([rows, 2], "f32", device);
  if (out.size > 0) k.normForward(x, w, b, out, stats, plan);
  return { out, stats, plan };
}

export function normBackwardXRaw(x: Tensor, w: Tensor | null, g: Tensor, stats: Tensor, plan: NormPlan): Tensor {
  const { device, k } = kernelsOf("norm backward", x, w, g);
  const dx = Tensor.empty(x.shape, "f32", device);
  if (dx.size > 0) k.normBackwardX(x, w, g, stats, dx, plan);
  return dx;
}

export function normBackwardWRaw(
  x: Tensor,
  g: Tensor,
  stats: Tensor,
  wShape: readonly number[],
  bShape: readonly number[],
  plan: NormPlan,
): { dw: Tensor; db: Tensor } {
  const { device, k } = kernelsOf("norm backward", x, g);
  const dw = Tensor.empty(wShape, "f32", device), db = Tensor.empty(bShape, "f32", device);
  if (dw.size > 0) k.normBackwardW(x, g, stats, dw, db, plan);
  return { dw, db };
}

// ── cross-entropy ──────────────────────────────────────────────────────────────────────────────────────────────

/** Per-row losses (leadShape), lse (rows), and for mean/sum the reduced scalar and the non-ignored count. */
export function crossEntropyForwardRaw(
  logits: Tensor,
  targets: Tensor,
  plan: CrossEntropyPlan,
): { out: Tensor; perRow: Tensor; lse: Tensor; count: Tensor } {
  const { device, k } = kernelsOf("crossEntropy", logits, targets);
  const perRow = Tensor.empty(logits.shape.slice(0, -1), "f32", device);
  const lse = Tensor.empty([Math.max(plan.rows, 1)], "f32", device);
  const count = plan.reduction === "none" ? lse : Tensor.empty([1], "f32", device);
  if (plan.rows > 0) k.crossEntropyRows(logits, targets, perRow, lse, plan);
  if (plan.reduction === "none") return { out: perRow, perRow, lse, count };
  const out = Tensor.empty([], "f32", device);
  k.crossEntropyReduce(perRow, targets, out, count, plan);
  return { out, perRow, lse, count };
}

export function crossEntropyBackwardRaw(
  logits: Tensor,
  targets: Tensor,
  lse: Tensor,
  g: Tensor,
  count: Tensor,
  plan: CrossEntropyPlan,
): Tensor {
  const { device, k } = kernelsOf("crossEntropy backward", logits, g);
  const dx = Tensor.empty(logits.shape, "f32", device);
  if (dx.size > 0) k.crossEntropyBackward(logits, targets, lse, g, count, dx, plan);
  return dx;
}

// ── l2Normalize ──────────────────────────────────────────────────────────────────────────────────────────────────

export function l2Plan(x: Tensor, axis: number, eps: number): L2Plan {
  const len = x.shape[axis];
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return { lines: len === 0 ? 0 : x.size / len, len, inner, eps };
}

export function l2ForwardRaw(x: Tensor, plan: L2Plan): { out: Tensor; norms: Tensor } {
  const { device, k } = kernelsOf("l2Normalize", x);
  const out = Tensor.empty(x.shape, "f32", device);
  const norms = Tensor.empty([Math.max(1, plan.lines)], "f32", device);
  if (out.size > 0) k.l2Forward(x, out, norms, plan);
  return { out, norms };
}

export function l2BackwardRaw(y: Tensor, g: Tensor, norms: Tensor, plan: L2Plan): Tensor {
  const { device, k } = kernelsOf("l2Normalize backward", y, g);
  const dx = Tensor.empty(y.shape, "f32", device);
  if (dx.size > 0) k.l2Backward(y, g, norms, dx, plan);
  return dx;
}

// ── topk ───────────────────────────────────────────────────────────────────────────────────────────────────────────

export function topkRaw(x: Tensor, kk: number): { values: Tensor; indices: Tensor } {
  const { rows, len } = lastAxisRows("topk", x);
  if (!Number.isInteger(kk) || kk < 0 || kk > len) {
    throw new ShapeMismatchError("topk", `k = ${kk} for a last axis of ${len}`);
  }
  const { device, k } = kernelsOf("topk", x);
  const shape = [...x.shape.slice(0, -1), kk];
  const values = Tensor.empty(shape, "f32", device);
  const indices = Tensor.empty(shape, "i32", device);
  if (values.size > 0) k.topk(x, values, indices, { rows, len, k: kk });
  return { values, indices };
}
