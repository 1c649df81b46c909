/**
 * Batched matmul C = op(A) · op(B) (+ bias), op = identity or transpose, with a fused bias over columns.
 * A: (..., M, K) or (..., K, M) with transA; B: (..., K, N) or (..., N, K) with transB, or 2-D (shared by every
 * batch, as a linear layer's weight). Kernels: register-tiled WGSL (core/gpu/kernels/matmul.ts) and a packed
 * SIMD128 GEMM (core/wasm/kernels/matmul.ts).
 */
import type { Tensor } from "../tensor.ts";
import { record } from "../tape.ts";
import { type MatmulOptions, matmulRaw } from "../kernels/matmul.ts";
import { sumToShape } from "../kernels/reduce.ts";

export { type MatmulOptions, matmulRaw };

/** Batched C = op(A)·op(B) (+ bias) with its backward rule (see the file comment for the shapes). */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const out = matmulRaw(a, b, opts);
  const transA = !!opts.transA, transB = !!opts.transB;
  const inputs = opts.bias ? [a, b, opts.bias] : [a, b];
  return record(out, "matmul", inputs, (g) => {
    // fwd: C = op(A)·op(B) + bias. Each case below is dC pulled back through op(A)/op(B).
    let da: Tensor | null = null, db: Tensor | null = null;
    if (a.requiresGrad) {
      // op(A) = A:  dA = dC·op(B)ᵀ ;  op(A) = Aᵀ: dA = op(B)·dCᵀ
      da = transA ? matmulRaw(b, g, { transA: transB, transB: true }) : matmulRaw(g, b, { transB: !transB });
      da = sumToShape(da, a.shape);
    }
    if (b.requiresGrad) {
      if (b.rank === 2 && a.rank > 2 && !transA) {
        // Shared weight: fold the batch into rows so one matmul sums over it.
        const a2 = a.view([a.size / a.shape[a.rank - 1], a.shape[a.rank - 1]]);
        const g2 = g.view([g.size / g.shape[g.rank - 1], g.shape[g.rank - 1]]);
        db = transB ? matmulRaw(g2, a2, { transA: true }) : matmulRaw(a2, g2, { transA: true });
      } else {
        // op(B) = B: dB = op(A)ᵀ·dC ;  op(B) = Bᵀ: dB = dCᵀ·op(A)
        db = transB ? matmulRaw(g, a, { transA: true, transB: transA }) : matmulRaw(a, g, { transA: !transA });
        db = sumToShape(db, b.shape);
      }
    }
    const grads: (Tensor | null)[] = [da, db];
    if (opts.bias) grads.push(opts.bias.requiresGrad ? sumToShape(g, [opts.bias.size]).view(opts.bias.shape) : null);
    return grads;
  });
}

/** f64 reference (batch dims flattened; B may be shared). */
export function matmulReference(
  a: Float64Array,
  aShape: readonly number[],
  b: Float64Array,
  bShape: readonly number[],
  opts: { transA?: boolean; transB?: boolean; bias?: Float64Array } = {},
): Float64Array {
  const transA = !!opts.transA, transB = !!opts.transB;
  const [a0, a1] = aShape.slice(-2);
  const [b0, b1] = bShape.slice(-2);
  const m = transA ? a1 : a0, k = transA ? a0 : a1, n = transB ? b0 : b1;
  const batch = Math.max(
    aShape.slice(0, -2).reduce((x, y) => x * y, 1),
    bShape.slice(0, -2).reduce((x, y) => x * y, 1),
  );
  const sA = aShape.length > 2 ? m * k : 0, sB = bShape.length > 2 ? k * n : 0;
  const out = new Float64Array(batch * m * n);
  for (let bt = 0; bt < batch; bt++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = opts.bias ? opts.bias[j] : 0;
        for (let kk = 0; kk < k; kk++) {
          const av = a[bt * sA + (transA ? kk * m + i : i * k + kk)];
          const bv = b[bt * sB + (transB ? j * k + kk : kk * n + j)];
          acc += av * bv;
        }
        out[bt * m * n + i * n + j] = acc;
      }
    }
  }
  return out;
}
