import assert from "node:assert/strict";
import { ConfigError } from "../../core/errors.ts";
import { TINY_CONFIG } from "../../core/model/config.ts";
import { initParameters } from "../../core/model/init.ts";
import { initGpu, noGrad, Rng, Tensor } from "../../core/runtime.ts";
import {
  createHeads,
  headDims,
  headForward,
  headParams,
  initCorrespondenceHeadFromQuery,
  initHeadsFromWeights,
} from "../../train/correspondence_head.ts";
import { type MatF64, zeros } from "../../train/mat_f64.ts";
import { svd } from "../../train/svd.ts";
import { correspondenceHeadForward } from "../../train/reference/correspondence_head.ts";
import { addRowVector, matmul, matmulTransB, maxAbsDiff, randomNormal } from "../../train/reference/dense.ts";
import { assertClose } from "../core/ops/_check.ts";

await initGpu();

function firstCols(m: MatF64, k: number): MatF64 {
  const out = zeros(m.rows, k);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < k; j++) out.data[i * k + j] = m.data[i * m.cols + j];
  return out;
}

Deno.test("headDims gives App. B d→d/2→d and Sec 4.1 d→2·dEmb→dEmb, and rejects dEmb > d", () => {
  assert.deepEqual(headDims("app-b", 128, 32), { dModel: 128, hidden: 64, out: 128 });
  assert.deepEqual(headDims("sec-4", 128, 32), { dModel: 128, hidden: 64, out: 32 });
  assert.throws(() => headDims("sec-4", 16, 17), ConfigError);
});

Deno.test("app-b SVD init makes the head exactly the rank-k projection U_k U_kᵀ (W_Q x + b_Q), at any input scale", () => {
  const rng = new Rng(10);
  const d = 16;
  const wq = randomNormal(d, d, rng, 0.3);
  const qBias = Float64Array.from({ length: d }, () => rng.normal());
  for (const gelu of ["erf", "tanh"] as const) {
    const head = initCorrespondenceHeadFromQuery(wq, { shape: "app-b", dEmb: 0, qBias, rng, gelu });
    const k = 4; // h = 8 hidden units = 4 ± pairs
    const Uk = firstCols(svd(wq).U, k);
    for (const scale of [0.01, 1, 300]) {
      const x = randomNormal(5, d, rng, scale);
      const q = addRowVector(matmulTransB(x, wq), qBias); // (N, d)
      const expected = matmulTransB(matmul(q, Uk), Uk); // q U_k U_kᵀ
      const { out } = correspondenceHeadForward(head, x);
      assert(
        maxAbsDiff(out, expected) < 1e-9 * Math.max(1, scale),
        `${gelu} scale ${scale}: ${maxAbsDiff(out, expected)}`,
      );
    }
  }
});

Deno.test("sec-4 SVD init gives U_kᵀ (W_Q x + b_Q), with the same cosine similarities as app-b's output", () => {
  const rng = new Rng(11);
  const d = 16;
  const wq = randomNormal(d, d, rng, 0.3);
  const qBias = Float64Array.from({ length: d }, () => rng.normal());
  const sec4 = initCorrespondenceHeadFromQuery(wq, { shape: "sec-4", dEmb: 4, qBias, rng });
  const appB = initCorrespondenceHeadFromQuery(wq, { shape: "app-b", dEmb: 0, qBias, rng });
  const x = randomNormal(6, d, rng, 2);
  const q = addRowVector(matmulTransB(x, wq), qBias);
  const expected = matmul(q, firstCols(svd(wq).U, 4)); // q U_k (N, 4)
  const e4 = correspondenceHeadForward(sec4, x).out;
  assert(maxAbsDiff(e4, expected) < 1e-10);
  const eb = correspondenceHeadForward(appB, x).out;
  const cos = (m: MatF64, i: number, j: number) => {
    let dot = 0, ni = 0, nj = 0;
    for (let c = 0; c < m.cols; c++) {
      const a = m.data[i * m.cols + c], b = m.data[j * m.cols + c];
      dot += a * b, ni += a * a, nj += b * b;
    }
    return dot / Math.sqrt(ni * nj);
  };
  for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) assert(Math.abs(cos(e4, i, j) - cos(eb, i, j)) < 1e-10);
});

Deno.test("odd hidden width: the spare unit is live (random fc1 row) but silent at init (zero fc2 column)", () => {
  const rng = new Rng(12);
  const d = 10; // h = 5, k = 2 pairs, 1 spare
  const wq = randomNormal(d, d, rng);
  const head = initCorrespondenceHeadFromQuery(wq, { shape: "app-b", dEmb: 0, rng });
  const spare = 4;
  let rowNorm = 0;
  for (let c = 0; c < d; c++) rowNorm += head.fc1Weight.data[spare * d + c] ** 2;
  assert(rowNorm > 0);
  for (let r = 0; r < d; r++) assert.equal(head.fc2Weight.data[r * 5 + spare], 0);
  const x = randomNormal(3, d, rng);
  const Uk = firstCols(svd(wq).U, 2);
  const expected = matmulTransB(matmul(matmulTransB(x, wq), Uk), Uk);
  assert(maxAbsDiff(correspondenceHeadForward(head, x).out, expected) < 1e-10);
});

Deno.test("initHeadsFromWeights reads HF q_proj weight and bias of the tiny model's layers", () => {
  const w = initParameters(TINY_CONFIG, 3);
  const heads = initHeadsFromWeights(w, TINY_CONFIG.hidden_size, [2], { shape: "sec-4", dEmb: 8, rng: new Rng(1) });
  assert.deepEqual([...heads.keys()], [2]);
  const h = heads.get(2)!;
  assert.deepEqual(h.dims, { dModel: 128, hidden: 16, out: 8 });
  // At init the head is U_kᵀ (W_Q x + b_Q): check with x = 0 → U_kᵀ b_Q, i.e. fc2 bias reproduces it.
  const wq = { rows: 128, cols: 128, data: Float64Array.from(w.get("model.layers.2.self_attn.q_proj.weight")!) };
  const b = Float64Array.from(w.get("model.layers.2.self_attn.q_proj.bias")!);
  const Uk = firstCols(svd(wq).U, 8);
  const expected = matmul({ rows: 1, cols: 128, data: b }, Uk);
  const got = correspondenceHeadForward(h, zeros(1, 128)).out;
  assert(maxAbsDiff(got, expected) < 1e-10);
  assert.throws(() => initHeadsFromWeights(w, 128, [9], { shape: "app-b", dEmb: 0, rng: new Rng(1) }), /missing/);
});

for (const shape of ["app-b", "sec-4"] as const) {
  Deno.test(`GPU ${shape} head is SVD-initialised like the f64 reference and its forward matches it`, async () => {
    const w = initParameters(TINY_CONFIG, 3);
    const d = TINY_CONFIG.hidden_size;
    const gpu = createHeads(w, d, [1, 2], { shape, dEmb: 32, gelu: "erf" }, new Rng(5));
    const ref = initHeadsFromWeights(w, d, [1, 2], { shape, dEmb: 32, rng: new Rng(5) });
    assert.deepEqual([...gpu.keys()], [1, 2]);
    assert.equal(headParams(gpu)[0].name, "correspondence_heads.1.fc1.weight");
    const rng = new Rng(9);
    const x = Float64Array.from({ length: 10 * d }, () => 3 * rng.normal());
    for (const l of [1, 2]) {
      const want = correspondenceHeadForward(ref.get(l)!, { rows: 10, cols: d, data: x }).out;
      const got = await noGrad(() => headForward(gpu.get(l)!, Tensor.from(Float32Array.from(x), [10, d]))).toArray();
      assertClose(`layer ${l} head output`, got, want.data, 1e-4, 1e-4);
    }
  });
}

Deno.test("head tensors are named like an HF MLP under correspondence_heads.{l} with [out, in] shapes", () => {
  const w = initParameters(TINY_CONFIG, 3);
  const heads = createHeads(w, TINY_CONFIG.hidden_size, [3], { shape: "sec-4", dEmb: 8, gelu: "erf" }, new Rng(1));
  assert.deepEqual(headParams(heads).map((t) => [t.name, t.shape]), [
    ["correspondence_heads.3.fc1.weight", [16, 128]],
    ["correspondence_heads.3.fc1.bias", [16]],
    ["correspondence_heads.3.fc2.weight", [8, 16]],
    ["correspondence_heads.3.fc2.bias", [8]],
  ]);
  for (const t of headParams(heads)) t.dispose();
});
