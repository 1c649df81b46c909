import assert from "node:assert/strict";
import { randomizedSvd, type TruncatedSvd } from "../../../core/linalg/randomized_svd.ts";
import { ShapeMismatchError } from "../../../core/errors.ts";
import { Rng } from "../../../core/random.ts";
import { type MatF64, transpose, zeros } from "../../../train/mat_f64.ts";
import { matmul, matmulTransA, randomNormal } from "../../../train/reference/dense.ts";
import { svd } from "../../../train/svd.ts";
import { wasmGemm } from "../../../core/linalg/gemm.ts";
import { initWasm } from "../../../core/device_init.ts";
import { orthonormalityError } from "../../_helpers/orthonormal.ts";

function firstCols(a: MatF64, k: number): MatF64 {
  const out = zeros(a.rows, k);
  for (let r = 0; r < a.rows; r++) for (let c = 0; c < k; c++) out.data[r * k + c] = a.data[r * a.cols + c];
  return out;
}

/** Smallest cosine of the principal angles between two k-dim column spaces (1 = the same subspace). */
function minPrincipalCosine(a: MatF64, b: MatF64): number {
  const s = svd(matmulTransA(a, b)).S;
  return s[s.length - 1];
}

/** A (m, n) = Q1 diag(σ) Q2ᵀ with the given spectrum and random orthonormal Q1, Q2 (from Jacobi of Gaussians). */
function withSpectrum(m: number, n: number, sigma: (i: number) => number, rng: Rng): MatF64 {
  const r = Math.min(m, n);
  const q1 = svd(randomNormal(m, r, rng)).U, q2 = svd(randomNormal(n, r, rng)).U;
  const scaled = zeros(m, r);
  for (let i = 0; i < m; i++) for (let j = 0; j < r; j++) scaled.data[i * r + j] = q1.data[i * r + j] * sigma(j);
  return matmul(scaled, transpose(q2));
}

/** max |Σ_k V_kᵀ − U_kᵀ A|: the identity the head init relies on (core/linalg/randomized_svd.ts step 5). */
function projectionIdentityError(a: MatF64, r: TruncatedSvd): number {
  const utA = matmulTransA(r.U, a); // (k, n)
  let e = 0;
  for (let t = 0; t < r.S.length; t++) {
    for (let c = 0; c < a.cols; c++) {
      e = Math.max(e, Math.abs(r.S[t] * r.V.data[c * r.S.length + t] - utA.data[t * a.cols + c]));
    }
  }
  return e;
}

Deno.test("randomizedSvd matches the f64 Jacobi SVD on a decaying spectrum: values, vectors and subspace", () => {
  const rng = new Rng(11);
  for (const [m, n] of [[70, 50], [31, 77], [64, 64]]) {
    const a = withSpectrum(m, n, (i) => 3 * 0.85 ** i, rng);
    const k = 12;
    const ref = svd(a);
    // Error falls as (σ_l/σ_k)^(2q+1) = 0.85^(10·9) here: q = 4 reaches rounding level.
    const r = randomizedSvd(a, { rank: k, seed: 3, powerIterations: 4 });
    const label = `(${m}, ${n})`;
    assert.deepEqual([r.U.rows, r.U.cols, r.V.rows, r.V.cols, r.S.length], [m, k, n, k, k], label);
    for (let i = 0; i < k; i++) {
      assert(Math.abs(r.S[i] - ref.S[i]) < 1e-10 * ref.S[0], `${label}: σ_${i} ${r.S[i]} vs ${ref.S[i]}`);
    }
    const uRef = firstCols(ref.U, k), vRef = firstCols(ref.V, k);
    assert(1 - minPrincipalCosine(uRef, r.U) < 1e-10, `${label}: U subspace`);
    assert(1 - minPrincipalCosine(vRef, r.V) < 1e-10, `${label}: V subspace`);
    // Same sign convention as the reference, so the vectors themselves agree.
    let du = 0;
    for (let i = 0; i < uRef.data.length; i++) du = Math.max(du, Math.abs(uRef.data[i] - r.U.data[i]));
    assert(du < 1e-6, `${label}: U columns differ by ${du}`);
    assert(orthonormalityError(r.U) < 1e-12 && orthonormalityError(r.V) < 1e-12, `${label}: orthonormal`);
  }
});

Deno.test("each power iteration shrinks the subspace and value errors against Jacobi on a slow (1/i) spectrum", () => {
  const rng = new Rng(15);
  const a = withSpectrum(70, 50, (i) => 1 / (1 + i), rng);
  const k = 12;
  const ref = svd(a);
  const uRef = firstCols(ref.U, k);
  let prev = { angle: Infinity, value: Infinity };
  for (const q of [0, 1, 2, 3, 4]) {
    const r = randomizedSvd(a, { rank: k, seed: 3, powerIterations: q });
    const angle = 1 - minPrincipalCosine(uRef, r.U);
    let value = 0;
    for (let i = 0; i < k; i++) value = Math.max(value, Math.abs(r.S[i] - ref.S[i]) / ref.S[0]);
    assert(angle < prev.angle / 5 && value < prev.value / 5, `q=${q}: 1-cos ${angle}, σ err ${value} vs ${prev}`);
    prev = { angle, value };
  }
  assert(prev.angle < 1e-4 && prev.value < 1e-5, `q=4: ${JSON.stringify(prev)}`);
});

Deno.test("on a flat (Gaussian-init) spectrum the subspace is near-optimal and Σ_k V_kᵀ = U_kᵀ A stays exact", () => {
  const rng = new Rng(12);
  const a = randomNormal(96, 96, rng, 0.02);
  const k = 24;
  const ref = svd(a);
  const r = randomizedSvd(a, { rank: k, seed: 1 });
  // Captured energy ‖U_kᵀ A‖_F² against the optimum Σ_{i<k} σ_i² (Eckart-Young).
  const utA = matmulTransA(r.U, a);
  const captured = utA.data.reduce((s, x) => s + x * x, 0);
  const optimum = ref.S.subarray(0, k).reduce((s, x) => s + x * x, 0);
  assert(captured > 0.97 * optimum && captured <= optimum * (1 + 1e-12), `captured ${captured / optimum} of optimum`);
  assert(projectionIdentityError(a, r) < 1e-14, `identity error ${projectionIdentityError(a, r)}`);
  assert(orthonormalityError(r.U) < 1e-12 && orthonormalityError(r.V) < 1e-12);
  for (let i = 1; i < k; i++) assert(r.S[i - 1] >= r.S[i], "descending");
});

Deno.test("randomizedSvd of rank-deficient and zero matrices: zero values, orthonormal U and V, exact rebuild", () => {
  const rng = new Rng(13);
  const low = matmul(randomNormal(20, 3, rng), randomNormal(3, 15, rng)); // rank 3
  const r = randomizedSvd(low, { rank: 6, seed: 2 });
  const ref = svd(low);
  for (let i = 0; i < 3; i++) assert(Math.abs(r.S[i] - ref.S[i]) < 1e-12 * ref.S[0]);
  for (let i = 3; i < 6; i++) assert.equal(r.S[i], 0, `σ_${i}`);
  assert(orthonormalityError(r.U) < 1e-12 && orthonormalityError(r.V) < 1e-12);
  // U diag(S) Vᵀ rebuilds A.
  for (let i = 0; i < 20; i++) {
    for (let j = 0; j < 15; j++) {
      let s = 0;
      for (let t = 0; t < 6; t++) s += r.U.data[i * 6 + t] * r.S[t] * r.V.data[j * 6 + t];
      assert(Math.abs(s - low.data[i * 15 + j]) < 1e-12 * ref.S[0], `rebuild (${i}, ${j})`);
    }
  }
  const z = randomizedSvd(zeros(9, 7), { rank: 4 });
  assert.deepEqual([...z.S], [0, 0, 0, 0]);
  assert(orthonormalityError(z.U) < 1e-12 && orthonormalityError(z.V) < 1e-12);
});

Deno.test("randomizedSvd reads f32 weights, is deterministic per seed, and rejects a bad rank", () => {
  const rng = new Rng(14);
  const a = withSpectrum(40, 33, (i) => 0.7 ** i, rng);
  const a32 = { rows: a.rows, cols: a.cols, data: Float32Array.from(a.data) };
  const r1 = randomizedSvd(a32, { rank: 5, seed: 7 }), r2 = randomizedSvd(a32, { rank: 5, seed: 7 });
  assert.deepEqual(r1, r2);
  const ref = svd({ rows: 40, cols: 33, data: Float64Array.from(a32.data) });
  for (let i = 0; i < 5; i++) assert(Math.abs(r1.S[i] - ref.S[i]) < 1e-9, `σ_${i}`);
  for (const rank of [0, 34, 2.5]) {
    assert.throws(() => randomizedSvd(a, { rank }), ShapeMismatchError, `rank ${rank}`);
  }
});

Deno.test("with the WASM GEMM (f32 products) the top-k triplets match Jacobi to f32 accuracy", async () => {
  await initWasm();
  const gemm = wasmGemm()!;
  const rng = new Rng(21);
  for (const [m, n, spectrum] of [[260, 200, "decaying"], [150, 230, "decaying"], [192, 192, "flat"]] as const) {
    const a = spectrum === "flat" ? randomNormal(m, n, rng, 0.02) : withSpectrum(m, n, (i) => 2 * 0.8 ** i, rng);
    const k = 16;
    const ref = svd(a);
    const r = randomizedSvd(a, { rank: k, seed: 4, powerIterations: 4, gemm });
    const f64 = randomizedSvd(a, { rank: k, seed: 4, powerIterations: 4 });
    const label = `(${m}, ${n}) ${spectrum}`;
    for (let i = 0; i < k; i++) {
      assert(Math.abs(r.S[i] - f64.S[i]) < 1e-5 * ref.S[0], `${label}: σ_${i} ${r.S[i]} vs f64 ${f64.S[i]}`);
    }
    if (spectrum === "decaying") {
      for (let i = 0; i < k; i++) assert(Math.abs(r.S[i] - ref.S[i]) < 1e-5 * ref.S[0], `${label}: σ_${i} vs Jacobi`);
      assert(1 - minPrincipalCosine(firstCols(ref.U, k), r.U) < 1e-6, `${label}: U subspace`);
      assert(1 - minPrincipalCosine(firstCols(ref.V, k), r.V) < 1e-6, `${label}: V subspace`);
    } else {
      // Flat spectrum: the same captured energy as the f64 path (the subspace itself is not unique).
      const energy = (x: TruncatedSvd) => matmulTransA(x.U, a).data.reduce((s, v) => s + v * v, 0);
      assert(Math.abs(energy(r) - energy(f64)) < 1e-4 * energy(f64), `${label}: energy`);
    }
    assert(projectionIdentityError(a, r) < 1e-5 * ref.S[0], `${label}: identity ${projectionIdentityError(a, r)}`);
    assert(orthonormalityError(r.U) < 1e-5 && orthonormalityError(r.V) < 1e-5, `${label}: orthonormal`);
  }
});
