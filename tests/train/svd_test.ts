import assert from "node:assert/strict";
import { Rng } from "../../core/random.ts";
import { type MatF64, zeros } from "../../train/mat_f64.ts";
import { fromRows, matmul, maxAbsDiff, randomNormal } from "../../train/reference/dense.ts";
import { reconstruct, svd } from "../../train/svd.ts";
import { orthonormalityError } from "../_helpers/orthonormal.ts";

function checkSvd(a: MatF64, label: string): void {
  const r = svd(a);
  const k = Math.min(a.rows, a.cols);
  assert.deepEqual([r.U.rows, r.U.cols, r.S.length, r.V.rows, r.V.cols], [a.rows, k, k, a.cols, k], label);
  const scale = Math.max(1, ...a.data.map(Math.abs));
  assert(maxAbsDiff(reconstruct(r), a) < 1e-12 * scale * k, `${label}: reconstruction`);
  assert(orthonormalityError(r.U) < 1e-12, `${label}: UᵀU = I (err ${orthonormalityError(r.U)})`);
  assert(orthonormalityError(r.V) < 1e-12, `${label}: VᵀV = I (err ${orthonormalityError(r.V)})`);
  for (let i = 0; i < k; i++) {
    assert(r.S[i] >= 0, `${label}: S non-negative`);
    if (i > 0) assert(r.S[i - 1] >= r.S[i], `${label}: S descending`);
  }
}

Deno.test("svd reconstructs square, tall, wide and odd-sized random matrices with orthonormal U and V", () => {
  const rng = new Rng(1);
  for (const [m, n] of [[1, 1], [2, 2], [7, 7], [9, 4], [4, 9], [13, 1], [1, 13], [31, 17], [16, 33]]) {
    checkSvd(randomNormal(m, n, rng), `${m}x${n}`);
  }
});

Deno.test("svd of rank-deficient and zero matrices keeps U orthonormal and gives zero singular values", () => {
  const rng = new Rng(2);
  const b = randomNormal(12, 3, rng);
  const c = randomNormal(3, 8, rng);
  const lowRank = matmul(b, c); // rank 3, (12, 8)
  checkSvd(lowRank, "rank-3 12x8");
  const r = svd(lowRank);
  for (let i = 3; i < 8; i++) assert(r.S[i] < 1e-12 * r.S[0], `S[${i}] = ${r.S[i]} should vanish`);
  checkSvd(zeros(5, 3), "zero 5x3");
  checkSvd(fromRows([[1, 2, 3], [2, 4, 6], [3, 6, 9]]), "rank-1 3x3");
  // Repeated singular values (an orthogonal matrix scaled by 3).
  checkSvd(fromRows([[0, 3, 0], [3, 0, 0], [0, 0, -3]]), "repeated singular values");
});

Deno.test("svd matches known singular values of a diagonal-like matrix and of a 2x2 closed form", () => {
  const r = svd(fromRows([[0, 0, 2], [0, -5, 0], [1, 0, 0], [0, 0, 0]]));
  assert(maxAbsDiff({ rows: 1, cols: 3, data: r.S }, { rows: 1, cols: 3, data: Float64Array.from([5, 2, 1]) }) < 1e-14);
  // [[3, 0], [4, 5]]: singular values √45 and √5.
  const r2 = svd(fromRows([[3, 0], [4, 5]]));
  assert(Math.abs(r2.S[0] - Math.sqrt(45)) < 1e-13 && Math.abs(r2.S[1] - Math.sqrt(5)) < 1e-13);
});

Deno.test("svd is deterministic: largest entry of each U column is positive", () => {
  const a = randomNormal(10, 6, new Rng(3));
  const r1 = svd(a);
  const r2 = svd(a);
  assert.deepEqual(Array.from(r1.U.data), Array.from(r2.U.data));
  for (let k = 0; k < 6; k++) {
    let best = 0;
    for (let i = 0; i < 10; i++) if (Math.abs(r1.U.data[i * 6 + k]) > Math.abs(r1.U.data[best * 6 + k])) best = i;
    assert(r1.U.data[best * 6 + k] > 0);
  }
});

Deno.test("svd of a 96x96 matrix (tiny-model W_Q size) converges in few sweeps", () => {
  const a = randomNormal(96, 96, new Rng(4), 0.1);
  const r = svd(a);
  assert(r.sweeps < 20, `sweeps ${r.sweeps}`);
  assert(maxAbsDiff(reconstruct(r), a) < 1e-12);
});
