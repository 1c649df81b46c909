/**
 * Dense products for the host-side linear algebra (core/linalg/randomized_svd.ts) on the WASM device's packed SIMD
 * GEMM (core/wasm/kernels/matmul.ts), synchronously: the operands go into the WASM memory, the kernel runs, the
 * result is copied out. f32 storage and accumulation (~1e-7 relative per product), 20-40× the plain-TypeScript f64
 * loops here; callers that need f64 products keep their own loops.
 */
import { shapeSize, Tensor, tidy } from "../tensor.ts";
import { matmulRaw } from "../kernels/matmul.ts";
import { WasmRuntime } from "../wasm/runtime.ts";

/** C (m, n) = op(A) · op(B), op(A) (m, k), op(B) (k, n), row-major; transA: A stored (k, m); transB: B stored (n, k). */
export type Gemm = (
  a: ArrayLike<number>,
  aShape: [number, number],
  b: ArrayLike<number>,
  bShape: [number, number],
  opts?: { transA?: boolean; transB?: boolean },
) => Float64Array;

/** The WASM device's GEMM, or null when the WASM device is not initialised (`await initWasm()` starts it). */
export function wasmGemm(): Gemm | null {
  if (!WasmRuntime.ready) return null;
  return (a, aShape, b, bShape, opts = {}) =>
    tidy(() => {
      const f32 = (x: ArrayLike<number>) => x instanceof Float32Array ? x : Float32Array.from(x);
      const ta = Tensor.from(f32(a), aShape, { device: "wasm" });
      const tb = Tensor.from(f32(b), bShape, { device: "wasm" });
      const c = matmulRaw(ta, tb, opts);
      const out = new Float32Array(WasmRuntime.current().read(c.ptr, shapeSize(c.shape) * 4));
      return Float64Array.from(out);
    });
}
