/** Raw batched matmul C = op(A) · op(B) (+ bias) (no tape); shapes as in core/ops/matmul.ts. */
import { Tensor } from "../tensor.ts";
import { ShapeMismatchError } from "../errors.ts";
import { kernelsOf } from "./backend.ts";
import type { MatmulPlan } from "./types.ts";

/** Options of matmul. */
export interface MatmulOptions {
  /** Use Aᵀ: A is stored (…, K, M). */
  transA?: boolean;
  /** Use Bᵀ: B is stored (…, N, K). */
  transB?: boolean;
  /** Added to every row of the result: (N). */
  bias?: Tensor;
}

/** The problem's dimensions and the result's batch shape; throws on mismatched shapes. */
export function matmulPlan(
  a: { rank: number; shape: readonly number[] },
  b: { rank: number; shape: readonly number[] },
  transA: boolean,
  transB: boolean,
): MatmulPlan & { batchShape: number[] } {
  if (a.rank < 2 || b.rank < 2) {
    throw new ShapeMismatchError("matmul", `operands must be ≥ 2-D, got [${a.shape}] and [${b.shape}]`);
  }
  const [a0, a1] = a.shape.slice(-2);
  const [b0, b1] = b.shape.slice(-2);
  const m = transA ? a1 : a0, ka = transA ? a0 : a1;
  const kb = transB ? b1 : b0, n = transB ? b0 : b1;
  if (ka !== kb) {
    throw new ShapeMismatchError(
      "matmul",
      `inner dims differ: [${a.shape}]${transA ? "ᵀ" : ""} · [${b.shape}]${transB ? "ᵀ" : ""}`,
    );
  }
  const ba = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
  let batchShape: number[];
  if (bb.length === 0) batchShape = ba;
  else if (ba.length === 0) batchShape = bb;
  else if (ba.join() === bb.join()) batchShape = ba;
  else throw new ShapeMismatchError("matmul", `batch dims differ: [${a.shape}] vs [${b.shape}]`);
  return {
    batchShape,
    batch: batchShape.reduce((x, y) => x * y, 1),
    m,
    n,
    k: ka,
    strideA: ba.length ? m * ka : 0,
    strideB: bb.length ? ka * n : 0,
    transA,
    transB,
  };
}

/** C = op(A)·op(B) (+ bias), no tape. */
export function matmulRaw(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const d = matmulPlan(a, b, !!opts.transA, !!opts.transB);
  const { device, k } = kernelsOf("matmul", a, b, opts.bias);
  if (opts.bias && opts.bias.size !== d.n) {
    throw new ShapeMismatchError("matmul", `bias has ${opts.bias.size} elements, expected N = ${d.n}`);
  }
  if (d.k === 0 && d.batch * d.m * d.n > 0) throw new ShapeMismatchError("matmul", "K = 0");
  // Operands are f32, or f16 storage (frozen weights) widened to f32 by the kernels; compute and C stay f32.
  for (const [t, role] of [[a, "A"], [b, "B"]] as const) {
    if (t.dtype !== "f32" && t.dtype !== "f16") {
      throw new ShapeMismatchError("matmul", `${role} must be f32 or f16, got ${t.dtype} (${t})`);
    }
  }
  if (opts.bias && opts.bias.dtype !== "f32") throw new ShapeMismatchError("matmul", "bias must be f32");
  const out = Tensor.empty([...d.batchShape, d.m, d.n], "f32", device);
  if (out.size === 0) return out;
  k.matmul(a, b, opts.bias ?? null, out, d);
  return out;
}
