import assert from "node:assert/strict";
import { Rng } from "../../core/random.ts";
import { matmulTransA, randomNormal } from "../../train/reference/dense.ts";
import { EXACT_SVD_MAX_WIDTH, topSingularTriplets } from "../../train/head_svd.ts";
import { svd } from "../../train/svd.ts";

Deno.test("small W_Q (the tiny model's 128²) keeps the exact Jacobi triplets", () => {
  const a = randomNormal(128, 128, new Rng(1), 0.1);
  const t = topSingularTriplets(a, 32);
  const full = svd(a);
  assert.equal(t.method, "jacobi");
  assert.deepEqual(t.S, full.S.slice(0, 32));
  for (let i = 0; i < 128; i++) {
    for (let j = 0; j < 32; j++) assert.equal(t.U.data[i * 32 + j], full.U.data[i * 128 + j]);
  }
});

Deno.test("real widths take the randomized SVD: orthonormal U, and Σ_k V_kᵀ = U_kᵀ W_Q exactly", () => {
  const n = EXACT_SVD_MAX_WIDTH + 8, k = 64;
  const a = randomNormal(n, n, new Rng(2), 0.02);
  const t = topSingularTriplets(a, k);
  assert.equal(t.method, "randomized");
  assert.deepEqual([t.U.rows, t.U.cols, t.V.rows, t.V.cols, t.S.length], [n, k, n, k, k]);
  const utu = matmulTransA(t.U, t.U);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) assert(Math.abs(utu.data[i * k + j] - (i === j ? 1 : 0)) < 1e-12);
  }
  const utA = matmulTransA(t.U, a);
  let err = 0;
  for (let j = 0; j < k; j++) {
    for (let c = 0; c < n; c++) err = Math.max(err, Math.abs(t.S[j] * t.V.data[c * k + j] - utA.data[j * n + c]));
  }
  assert(err < 1e-14, `identity error ${err}`);
});
