/**
 * The SVD the correspondence-head init needs (Sec 4.1, App. B): the top-k singular triplets of a layer's W_Q.
 * Small widths use the exact f64 Jacobi SVD (train/svd.ts: milliseconds at the tiny model's 128², and the numbers
 * every pinned tiny run was trained with); real widths use the randomized truncated SVD (core/linalg), which keeps
 * the init's identity H_c(x) = U_k U_kᵀ (W_Q x + b_Q) exact (to f32 rounding when its products run on the WASM GEMM)
 * and costs seconds instead of minutes per layer.
 */
import { randomizedSvd } from "../core/linalg/randomized_svd.ts";
import { wasmGemm } from "../core/linalg/gemm.ts";
import { type MatF64, zeros } from "./mat_f64.ts";
import { svd } from "./svd.ts";

/** Above this min(rows, cols) the randomized SVD is used (Jacobi at 512² takes ~4 s, and grows as n³). */
export const EXACT_SVD_MAX_WIDTH = 512;

export interface TopSvd {
  /** (m, k) */
  U: MatF64;
  /** (k) descending */
  S: Float64Array;
  /** (n, k) */
  V: MatF64;
  method: "jacobi" | "randomized";
}

/** Top-k singular triplets of `a` (k ≤ min(m, n)); deterministic for a given seed. */
export function topSingularTriplets(a: MatF64, k: number, seed = 0): TopSvd {
  const r = Math.min(a.rows, a.cols);
  if (r <= EXACT_SVD_MAX_WIDTH) {
    const full = svd(a);
    return { U: firstCols(full.U, k), S: full.S.slice(0, k), V: firstCols(full.V, k), method: "jacobi" };
  }
  // q = 2 power iterations, p = 10 oversampling: see tests/core/linalg/randomized_svd_test.ts for the accuracy.
  // The products run on the WASM SIMD GEMM (f32) when that device is up (trainables starts it), else in f64 here.
  const t = randomizedSvd(a, { rank: k, seed, powerIterations: 2, oversample: 10, gemm: wasmGemm() ?? undefined });
  return { U: t.U, S: t.S, V: t.V, method: "randomized" };
}

function firstCols(m: MatF64, k: number): MatF64 {
  const out = zeros(m.rows, k);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < k; j++) out.data[i * k + j] = m.data[i * m.cols + j];
  return out;
}
