import assert from "node:assert/strict";
import { parseVlmConfig, TINY_CONFIG as C, type VlmConfig } from "../../../../core/model/config.ts";
import { initParameters, numel, parameterShapes } from "../../../../core/model/init.ts";
import { attention, erf, rmsNorm } from "../../../../core/model/reference/ops.ts";
import {
  decoderForward,
  mropeCosSin,
  referenceForward,
  visionForward,
} from "../../../../core/model/reference/forward.ts";
import { Rng } from "../../../../core/random.ts";

const W = initParameters(C, 1);
const VS = C.vision_start_token_id, VE = C.vision_end_token_id, IMG = C.image_token_id;

function randomPixels(n: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n * 1176 }, () => r.normal());
}

Deno.test("init gives every HF parameter its HF shape, deterministically from the seed", () => {
  const shapes = parameterShapes(C);
  assert.deepEqual(shapes.get("model.layers.0.self_attn.k_proj.weight"), [64, 128]);
  assert.deepEqual(shapes.get("visual.patch_embed.proj.weight"), [64, 3, 2, 14, 14]);
  assert.deepEqual(shapes.get("visual.merger.mlp.0.weight"), [256, 256]);
  for (const [n, s] of shapes) assert.equal(W.get(n)!.length, numel(s), n);
  assert.deepEqual(initParameters(C, 1).get("lm_head.weight"), W.get("lm_head.weight"));
  assert.notDeepEqual(initParameters(C, 2).get("lm_head.weight"), W.get("lm_head.weight"));
  const real = parseVlmConfig(
    JSON.parse(Deno.readTextFileSync(new URL("../../../fixtures/qwen2_5_vl_7b_config.json", import.meta.url))),
  );
  const total = [...parameterShapes(real).values()].reduce((s, x) => s + numel(x), 0);
  assert.ok(Math.abs(total - 8.29e9) < 0.01e9, `Qwen2.5-VL-7B has ~8.29 B parameters, got ${total}`);
});

Deno.test("erf matches known values to 1e-15 and RMSNorm normalises", () => {
  assert.ok(Math.abs(erf(0.5) - 0.5204998778130465) < 1e-15);
  assert.ok(Math.abs(erf(-1.7) + 0.9837904585907746) < 1e-15);
  assert.ok(Math.abs(erf(3.5) - 0.9999992569016276) < 1e-15);
  const y = rmsNorm(Float64Array.from([3, 4]), Float32Array.from([1, 2]), 0);
  assert.ok(Math.abs(y[0] - 3 / Math.sqrt(12.5)) < 1e-15 && Math.abs(y[1] - 8 / Math.sqrt(12.5)) < 1e-15);
});

Deno.test("GQA maps query heads 0,1 to kv head 0 and heads 2,3 to kv head 1", () => {
  const n = 3, D = 2;
  const q = new Float64Array(n * 4 * D).fill(0.1), k = new Float64Array(n * 2 * D).fill(0.1);
  const v = new Float64Array(n * 2 * D);
  for (let j = 0; j < n; j++) v.set([1, 1, 5, 5], j * 2 * D);
  const o = attention(q, k, v, n, 4, 2, (i, j) => j <= i);
  assert.deepEqual([...o.subarray(0, 8)].map((x) => Math.round(x * 1e9) / 1e9), [1, 1, 1, 1, 5, 5, 5, 5]);
});

Deno.test("M-RoPE with equal t/h/w ids is ordinary 1-D RoPE; sections pick t, h, w by dim", () => {
  const { cos } = mropeCosSin(C, [[7], [7], [7]]);
  for (let j = 0; j < 16; j++) assert.ok(Math.abs(cos[j] - Math.cos(7 * Math.pow(1e6, -j / 16))) < 1e-12);
  const m = mropeCosSin(C, [[1], [2], [3]]).cos; // sections [4, 6, 6]
  assert.ok(Math.abs(m[3] - Math.cos(1 * Math.pow(1e6, -3 / 16))) < 1e-12);
  assert.ok(Math.abs(m[4] - Math.cos(2 * Math.pow(1e6, -4 / 16))) < 1e-12);
  assert.ok(Math.abs(m[16 + 10] - Math.cos(3 * Math.pow(1e6, -10 / 16))) < 1e-12);
});

Deno.test("window attention: with no full-attention block a patch change stays inside its window", () => {
  const cw: VlmConfig = { ...C, vision_config: { ...C.vision_config, fullatt_block_indexes: [] } };
  const grids: [number, number, number][] = [[1, 8, 8]];
  const px = randomPixels(64, 3);
  const a = visionForward(cw, W, px, grids);
  px[0] += 1; // patch 0 lies in unit 0 -> window 0 = units {0, 1, 4, 5}
  const b = visionForward(cw, W, px, grids);
  const changed = [...Array(16).keys()].filter((u) => Math.abs(a[u * 128] - b[u * 128]) > 1e-12);
  assert.deepEqual(changed, [0, 1, 4, 5]);
  // with block 1 full attention, the change reaches every unit of the frame
  const c2 = visionForward(C, W, px, grids), c1 = visionForward(C, W, (px[0] -= 1, px), grids);
  assert.equal([...Array(16).keys()].filter((u) => Math.abs(c1[u * 128] - c2[u * 128]) > 1e-12).length, 16);
});

Deno.test("full attention is per frame: a video's first temporal step does not see the second", () => {
  const grids: [number, number, number][] = [[2, 4, 4]];
  const px = randomPixels(32, 4);
  const a = visionForward(C, W, px, grids);
  px[16 * 1176 + 5] += 1; // a patch of temporal step 1
  const b = visionForward(C, W, px, grids);
  for (let i = 0; i < 4 * 128; i++) assert.equal(a[i], b[i]);
  assert.ok(Math.abs(a[4 * 128] - b[4 * 128]) > 1e-9);
});

Deno.test("decoder is causal and introspection agrees with the logits and RoPE", () => {
  const ids = [1, 2, VS, IMG, IMG, IMG, IMG, VE, 3, 4];
  const px = randomPixels(16, 5);
  const out = referenceForward(C, W, { inputIds: ids, images: [{ pixelValues: px, gridThw: [1, 4, 4] }] });
  assert.deepEqual(out.visualSpans, [{ kind: "image", start: 3, end: 7, frameGrid: [1, 2, 2] }]);
  assert.deepEqual([...out.visualPositions], [3, 4, 5, 6]);
  assert.equal(out.layers.length, 4);
  const L = out.layers[1];
  assert.equal(L.qPreRope.length, 4 * 128);
  assert.equal(L.kPostRope.length, 4 * 64);
  // RoPE is a rotation: per-head norms are kept, values change
  let n0 = 0, n1 = 0;
  for (let i = 0; i < 32; i++) (n0 += L.qPreRope[128 + i] ** 2), (n1 += L.qPostRope[128 + i] ** 2);
  assert.ok(Math.abs(n0 - n1) < 1e-9 * n0 && L.qPreRope[128] !== L.qPostRope[128]);
  // later tokens do not change earlier logits
  const ids2 = [...ids.slice(0, 9), 99];
  const out2 = referenceForward(C, W, { inputIds: ids2, images: [{ pixelValues: px, gridThw: [1, 4, 4] }] });
  for (let i = 0; i < 9 * 640; i++) assert.equal(out.logits[i], out2.logits[i]);
  assert.notEqual(out.logits[9 * 640], out2.logits[9 * 640]);
  // last-layer hidden -> final norm -> lm_head reproduces the visual rows' logits
  const h = rmsNorm(out.layers[3].hidden, W.get("model.norm.weight")!, C.rms_norm_eps);
  const head = W.get("lm_head.weight")!;
  let s = 0;
  for (let i = 0; i < 128; i++) s += h[i] * head[7 * 128 + i];
  assert.ok(Math.abs(s - out.logits[3 * 640 + 7]) < 1e-9);
  assert.ok(Math.max(...out.logits.subarray(0, 640).map(Math.abs)) > 0.5, "logits are O(1), not ~0");
  // decoderForward alone with no capture gives the same logits
  assert.equal(decoderForward(C, W, new Float64Array(128), [[0], [0], [0]]).layers[0].hidden.length, 0);
});
