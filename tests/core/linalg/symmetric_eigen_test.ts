import assert from "node:assert/strict";
import { symmetricEigen } from "../../../core/linalg/symmetric_eigen.ts";
import { Rng } from "../../../core/random.ts";

/** max |G W − W diag(λ)| and max |WᵀW − I|. */
function residuals(g: Float64Array, n: number, values: Float64Array, W: Float64Array): [number, number] {
  let res = 0, orth = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let gw = 0, ww = 0;
      for (let t = 0; t < n; t++) {
        gw += g[i * n + t] * W[t * n + j];
        ww += W[t * n + i] * W[t * n + j];
      }
      res = Math.max(res, Math.abs(gw - W[i * n + j] * values[j]));
      orth = Math.max(orth, Math.abs(ww - (i === j ? 1 : 0)));
    }
  }
  return [res, orth];
}

function randomSymmetric(n: number, rng: Rng): Float64Array {
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) g[i * n + j] = g[j * n + i] = rng.normal();
  }
  return g;
}

Deno.test("symmetricEigen decomposes random symmetric matrices of odd and even sizes to 1e-12", () => {
  const rng = new Rng(5);
  for (const n of [1, 2, 3, 7, 16, 41]) {
    const g = randomSymmetric(n, rng);
    const { values, vectors } = symmetricEigen(g, n);
    const [res, orth] = residuals(g, n, values, vectors);
    assert(res < 1e-12 * n, `n=${n}: residual ${res}`);
    assert(orth < 1e-12 * n, `n=${n}: orthogonality ${orth}`);
    for (let i = 1; i < n; i++) assert(values[i - 1] <= values[i], `n=${n}: ascending`);
  }
});

Deno.test("symmetricEigen matches closed forms: 2x2, diagonal, repeated eigenvalues and the zero matrix", () => {
  // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
  const two = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
  assert(Math.abs(two.values[0] - 1) < 1e-15 && Math.abs(two.values[1] - 3) < 1e-15);
  const diag = symmetricEigen(Float64Array.from([3, 0, 0, 0, -1, 0, 0, 0, 2]), 3);
  assert.deepEqual([...diag.values], [-1, 2, 3]);
  // Q diag(1, 1, 1, 5, 5) Qᵀ for a random orthogonal Q: the eigenvalue multiset is recovered.
  const rng = new Rng(9);
  const n = 5;
  const { vectors: Q } = symmetricEigen(randomSymmetric(n, rng), n);
  const lam = [1, 1, 1, 5, 5];
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      for (let t = 0; t < n; t++) g[i * n + j] += Q[i * n + t] * lam[t] * Q[j * n + t];
    }
  }
  const rep = symmetricEigen(g, n);
  rep.values.forEach((v, i) => assert(Math.abs(v - lam[i]) < 1e-13, `eigenvalue ${i}: ${v}`));
  const [res, orth] = residuals(g, n, rep.values, rep.vectors);
  assert(res < 1e-13 && orth < 1e-13);
  const zero = symmetricEigen(new Float64Array(16), 4);
  assert.deepEqual([...zero.values], [0, 0, 0, 0]);
  assert(residuals(new Float64Array(16), 4, zero.values, zero.vectors)[1] < 1e-15);
});
