/**
 * l2Normalize(x, axis, eps): y = x / max(‖x‖₂, eps) along one axis (as PyTorch F.normalize), and
 * cosineSimilarity(a (…, N, D), b (…, M, D)) → (…, N, M), built on l2Normalize and matmul with b transposed.
 *
 * The tensor is viewed as (outer, L, inner) with L the normalised axis; the kernel reduces ‖x‖² per (outer, inner)
 * line and saves ‖x‖ for the fused backward.
 */
import type { Tensor } from "../tensor.ts";
import { record } from "../tape.ts";
import { l2BackwardRaw, l2ForwardRaw, l2Plan } from "../kernels/rows.ts";
import { normAxes } from "../kernels/shapes.ts";
import { matmul } from "./matmul.ts";

/** x / max(‖x‖₂, eps) along `axis` (default the last). */
export function l2Normalize(x: Tensor, axis = -1, eps = 1e-12): Tensor {
  const [ax] = normAxes("l2Normalize", axis, x.rank);
  const plan = l2Plan(x, ax, eps);
  const { out, norms } = l2ForwardRaw(x, plan);
  // fwd: y = x / max(‖x‖, eps)
  // ‖x‖ > eps:  dx = (g - y · Σ g ⊙ y) / ‖x‖     (∂‖x‖/∂x = y)
  // ‖x‖ ≤ eps:  dx = g / eps                      (the denominator is a constant)
  const result = record(out, "l2Normalize", [x], (g) => [l2BackwardRaw(out, g, norms, plan)]);
  if (!result.node) norms.dispose();
  return result;
}

/**
 * Cosine similarity of every row of a (…, N, D) with every row of b (…, M, D) (or a shared 2-D b (M, D)):
 * (…, N, M) = l2Normalize(a) · l2Normalize(b)ᵀ. Rows with norm below eps are divided by eps instead.
 */
export function cosineSimilarity(a: Tensor, b: Tensor, eps = 1e-8): Tensor {
  const an = l2Normalize(a, -1, eps); // (…, N, D)
  const bn = l2Normalize(b, -1, eps); // (…, M, D)
  return matmul(an, bn, { transB: true }); // (…, N, M)
}

/** f64 reference for l2Normalize. */
export function l2NormalizeReference(x: Float64Array, shape: readonly number[], axis = -1, eps = 1e-12): Float64Array {
  const ax = axis < 0 ? axis + shape.length : axis;
  const len = shape[ax];
  const inner = shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const out = new Float64Array(x.length);
  for (let line = 0; line * len < x.length && len > 0; line++) {
    const base = Math.floor(line / inner) * len * inner + (line % inner);
    let s = 0;
    for (let c = 0; c < len; c++) s += x[base + c * inner] ** 2;
    const d = Math.max(Math.sqrt(s), eps);
    for (let c = 0; c < len; c++) out[base + c * inner] = x[base + c * inner] / d;
  }
  return out;
}

/** f64 reference for cosineSimilarity with batch dims flattened (b shared when `bShared`). */
export function cosineSimilarityReference(
  a: Float64Array,
  b: Float64Array,
  batch: number,
  n: number,
  m: number,
  d: number,
  eps = 1e-8,
  bShared = false,
): Float64Array {
  const an = l2NormalizeReference(a, [batch * n, d], -1, eps);
  const bn = l2NormalizeReference(b, [(bShared ? 1 : batch) * m, d], -1, eps);
  const out = new Float64Array(batch * n * m);
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        let s = 0;
        const bo = (bShared ? 0 : t * m) + j;
        for (let k = 0; k < d; k++) s += an[(t * n + i) * d + k] * bn[bo * d + k];
        out[(t * n + i) * m + j] = s;
      }
    }
  }
  return out;
}
