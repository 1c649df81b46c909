import assert from "node:assert/strict";
import { ConfigError } from "../../core/errors.ts";
import { TINY_CONFIG } from "../../core/model/config.ts";
import { initParameters } from "../../core/model/init.ts";
import { Rng } from "../../core/random.ts";
import {
  correspondenceHeadBackward,
  correspondenceHeadForward,
  type CorrespondenceHeadParams,
  gelu,
  geluGrad,
  headDims,
  headTensors,
  initCorrespondenceHeadFromQuery,
  initHeadsFromWeights,
} from "../../train/correspondence_head.ts";
import {
  addRowVector,
  type MatF64,
  matmul,
  matmulTransB,
  maxAbsDiff,
  randomNormal,
  zeros,
} from "../../train/dense_f64.ts";
import { svd } from "../../train/svd.ts";

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

Deno.test("gelu (erf and tanh forms) gradient matches central differences and GELU(z) − GELU(−z) = z", () => {
  for (const form of ["erf", "tanh"] as const) {
    for (const z of [-6, -2.9, -1.3, -0.2, 0, 0.4, 2.1, 3.2, 7]) {
      const h = 1e-6;
      assert(Math.abs((gelu(z + h, form) - gelu(z - h, form)) / (2 * h) - geluGrad(z, form)) < 1e-8, `${form} ${z}`);
      assert(Math.abs(gelu(z, form) - gelu(-z, form) - z) < 1e-14, `${form} ${z}`);
    }
  }
  assert(Math.abs(gelu(1) - 0.8413447460685429) < 1e-15); // 1 · Φ(1)
  assert(Math.abs(gelu(1, "tanh") - gelu(1)) < 1e-3);
});

function randomHead(
  rng: Rng,
  shape: "app-b" | "sec-4",
  d: number,
  dEmb: number,
  gelu: "erf" | "tanh",
): CorrespondenceHeadParams {
  const dims = headDims(shape, d, dEmb);
  return {
    shape,
    gelu,
    dims,
    fc1Weight: randomNormal(dims.hidden, d, rng, 0.5),
    fc1Bias: Float64Array.from({ length: dims.hidden }, () => rng.normal() * 0.3),
    fc2Weight: randomNormal(dims.out, dims.hidden, rng, 0.5),
    fc2Bias: Float64Array.from({ length: dims.out }, () => rng.normal() * 0.3),
  };
}

Deno.test("head backward matches central finite differences for inputs and all four parameters (both shapes)", () => {
  const rng = new Rng(13);
  for (const [shape, d, dEmb, form] of [["app-b", 7, 0, "erf"], ["sec-4", 9, 3, "tanh"]] as const) {
    const p = randomHead(rng, shape, d, dEmb, form);
    const x = randomNormal(4, d, rng);
    const g = randomNormal(4, p.dims.out, rng); // L = Σ g ⊙ E
    const loss = () => {
      const e = correspondenceHeadForward(p, x).out;
      let s = 0;
      for (let i = 0; i < e.data.length; i++) s += e.data[i] * g.data[i];
      return s;
    };
    const { cache } = correspondenceHeadForward(p, x);
    const grads = correspondenceHeadBackward(p, cache, g);
    const checks: [Float64Array, Float64Array, string][] = [
      [x.data, grads.dX.data, "dX"],
      [p.fc1Weight.data, grads.fc1Weight.data, "fc1.weight"],
      [p.fc1Bias, grads.fc1Bias, "fc1.bias"],
      [p.fc2Weight.data, grads.fc2Weight.data, "fc2.weight"],
      [p.fc2Bias, grads.fc2Bias, "fc2.bias"],
    ];
    for (const [param, grad, name] of checks) {
      for (let i = 0; i < param.length; i++) {
        const h = 1e-6;
        const old = param[i];
        param[i] = old + h;
        const lp = loss();
        param[i] = old - h;
        const lm = loss();
        param[i] = old;
        const fd = (lp - lm) / (2 * h);
        assert(
          Math.abs(fd - grad[i]) < 1e-6 * Math.max(1, Math.abs(fd)),
          `${shape} ${name}[${i}]: ${fd} vs ${grad[i]}`,
        );
      }
    }
  }
});

Deno.test("headTensors names a layer's head like an HF MLP with [out, in] shapes", () => {
  const rng = new Rng(14);
  const head = initCorrespondenceHeadFromQuery(randomNormal(8, 8, rng), { shape: "sec-4", dEmb: 2, rng });
  const t = headTensors(3, head);
  assert.deepEqual([...t.keys()], [
    "correspondence_heads.3.fc1.weight",
    "correspondence_heads.3.fc1.bias",
    "correspondence_heads.3.fc2.weight",
    "correspondence_heads.3.fc2.bias",
  ]);
  assert.deepEqual(t.get("correspondence_heads.3.fc1.weight")!.shape, [4, 8]);
  assert.deepEqual(t.get("correspondence_heads.3.fc2.weight")!.shape, [2, 4]);
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
