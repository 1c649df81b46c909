/**
 * rmsNorm (Qwen2RMSNorm: y = x · rsqrt(mean(x²) + eps) · w) and layerNorm (y = (x - μ) · rsqrt(σ² + eps) · w + b)
 * over the last axis (C channels), each with a fused forward kernel (per row, also saving the per-row statistics)
 * and a fused backward: one row kernel for dx, one column kernel for dw (and db) that sums over rows in row order,
 * so gradients are deterministic.
 */
import type { Tensor } from "../tensor.ts";
import { record } from "../tape.ts";
import { normBackwardWRaw, normBackwardXRaw, normForwardRaw } from "../kernels/rows.ts";
import type { NormKind } from "../kernels/types.ts";

function normImpl(kind: NormKind, x: Tensor, w: Tensor | null, b: Tensor | null, eps: number): Tensor {
  const op = kind === "rms" ? "rmsNorm" : "layerNorm";
  const { out, stats, plan } = normForwardRaw(kind, x, w, b, eps);
  const inputs = [x, ...(w ? [w] : []), ...(b ? [b] : [])];
  const result = record(out, op, inputs, (g) => {
    // fwd: y = (x - μ) · r · w (+ b), r = (mean((x - μ)²) + eps)^(-1/2), μ = 0 for RMSNorm (kernels derive each term)
    const dx = x.requiresGrad ? normBackwardXRaw(x, w, g, stats, plan) : null;
    let dw: Tensor | null = null, db: Tensor | null = null;
    if (w?.requiresGrad || b?.requiresGrad) {
      ({ dw, db } = normBackwardWRaw(x, g, stats, w?.shape ?? [plan.len], b?.shape ?? [plan.len], plan));
    }
    const grads: (Tensor | null)[] = [dx];
    if (w) grads.push(w.requiresGrad ? dw : null);
    if (b) grads.push(b.requiresGrad ? db : null);
    return grads;
  });
  if (!result.node) stats.dispose();
  return result;
}

/** Qwen2 RMSNorm over the last axis: x · rsqrt(mean(x²) + eps) · weight. weight: (C). */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6): Tensor {
  return normImpl("rms", x, weight, null, eps);
}

/** LayerNorm over the last axis: (x - mean) · rsqrt(var + eps) · weight + bias (biased variance, as PyTorch). */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  return normImpl("ln", x, weight, bias, eps);
}

/** f64 reference for both norms (weight/bias null = identity). */
export function normReference(
  kind: "rmsNorm" | "layerNorm",
  x: Float64Array,
  len: number,
  weight: Float64Array | null,
  bias: Float64Array | null,
  eps: number,
): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r * len < x.length; r++) {
    const row = x.subarray(r * len, (r + 1) * len);
    const mu = kind === "rmsNorm" ? 0 : row.reduce((a, v) => a + v, 0) / len;
    const v = row.reduce((a, xv) => a + (xv - mu) ** 2, 0) / len;
    const rs = 1 / Math.sqrt(v + eps);
    for (let c = 0; c < len; c++) {
      out[r * len + c] = (row[c] - mu) * rs * (weight ? weight[c] : 1) + (bias ? bias[c] : 0);
    }
  }
  return out;
}
