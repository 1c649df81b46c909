import assert from "node:assert/strict";
import { analyzeCorrespondence } from "../../../core/analysis/analyze.ts";
import { attentionStats, centreRows, meanNormRatio } from "../../../core/analysis/attention_stats.ts";
import { annotateSequence } from "../../../core/scene/annotate.ts";
import { generateScene, renderVideo } from "../../../core/scene/generate.ts";
import { modelFeatureSources, visionFeatureSource } from "../../../core/analysis/model_features.ts";
import { initParameters } from "../../../core/model/init.ts";
import { VlmModel } from "../../../core/model/vlm.ts";
import { Rng } from "../../../core/random.ts";
import { initGpu } from "../../../core/runtime.ts";
import type { CorrespondenceSequence } from "../../../core/scene/types.ts";
import { buildTinyTokenizerJson } from "../../../core/text/build_tokenizer.ts";
import { TextTokenizer } from "../../../core/text/tokenizer.ts";
import { TOY_CONFIG, toySequences } from "../../train/_toy.ts";
import { encodePrompt, imagesThenText, SCENE_FRAMES_PROMPT } from "../../../core/model/processing.ts";

const close = (a: number, b: number, tol = 1e-9, what = "") =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

/** F = 3 frames of P = 2 patches after a 3-token text prefix; positions 3,4 | 5,6 | 7,8 of T = 10. */
function handSeq(): CorrespondenceSequence {
  const [s] = toySequences(1, 3);
  // one track: frame-0 patch 1 → frame 1 patch 0 → frame 2 patch 1; grid 1 × 2
  return {
    ...s,
    grid: { rows: 1, cols: 2, patchSize: 28 },
    tracks: [s.tracks[0]],
    targetPatch: Int32Array.from([1, 0, 1]),
  };
}
const VP = Int32Array.from([3, 4, 5, 6, 7, 8]);

/** The toy VLM (seeded weights) and tiny tokenizer the read-out tests share; the model is freed afterwards. */
async function withToyModel(fn: (model: VlmModel, tok: TextTokenizer) => Promise<void>): Promise<void> {
  await initGpu();
  const model = new VlmModel(TOY_CONFIG, initParameters(TOY_CONFIG, 3));
  try {
    await fn(model, TextTokenizer.fromJson(buildTinyTokenizerJson(0)));
  } finally {
    model.dispose();
  }
}

/** Naive f64 softmax attention of visual query r (head-averaged), over keys 0…pos. */
function naive(q: Float32Array, k: Float32Array, r: number, Hq: number, Hkv: number, D: number, T: number) {
  const pos = VP[r], p = new Float64Array(T);
  for (let h = 0; h < Hq; h++) {
    const kh = Math.floor(h / (Hq / Hkv));
    const s = Array.from({ length: pos + 1 }, (_, j) => {
      let d = 0;
      for (let e = 0; e < D; e++) d += q[(r * Hq + h) * D + e] * k[(kh * T + j) * D + e];
      return d / Math.sqrt(D);
    });
    const m = Math.max(...s), z = s.reduce((a, x) => a + Math.exp(x - m), 0);
    s.forEach((x, j) => (p[j] += Math.exp(x - m) / z / Hq));
  }
  return p;
}

Deno.test("attention statistics: equal to uniform for constant keys, and to a naive f64 softmax for random ones", () => {
  const seq = handSeq();
  const T = 10, Hq = 4, Hkv = 2, D = 3;
  const shape = { tokens: T, qHeads: Hq, kvHeads: Hkv, headDim: D, visualPositions: VP };
  const zeroK = new Float32Array(Hkv * T * D);
  const rng = new Rng(5);
  const q = Float32Array.from({ length: 6 * Hq * D }, () => rng.normal());
  const u = attentionStats([{ q, k: zeroK }], shape, seq);
  close(u.ownFrameShare.perLayer[0], u.ownFrameShareUniform.perLayer[0], 1e-12, "own");
  close(u.frame0Share.perLayer[0], u.frame0ShareUniform.perLayer[0], 1e-12, "frame 0");
  close(u.trueMatchAttention.perLayer[0], u.trueMatchAttentionUniform.perLayer[0], 1e-12, "match");
  // Uniform by hand: queries at rows 2..5 (positions 5..8), own-frame index 0,1,0,1.
  close(u.ownFrameShareUniform.perLayer[0], (1 / 6 + 2 / 7 + 1 / 8 + 2 / 9) / 4, 1e-12, "own uniform");
  close(u.frame0ShareUniform.perLayer[0], (2 / 6 + 2 / 7 + 2 / 8 + 2 / 9) / 4, 1e-12, "frame-0 uniform");
  close(u.trueMatchAttentionUniform.perLayer[0], (1 / 6 + 1 / 9) / 2, 1e-12, "match uniform"); // rows 2 and 5
  assert.equal(u.ownFrameShare.weight, 4);
  assert.equal(u.trueMatchAttention.weight, 2);

  const k = Float32Array.from({ length: Hkv * T * D }, () => rng.normal() * 2);
  const r = attentionStats([{ q, k }, { q, k: zeroK }], shape, seq);
  let own = 0, first = 0;
  for (let row = 2; row < 6; row++) {
    const p = naive(q, k, row, Hq, Hkv, D, T);
    const f = row >> 1;
    own += p[VP[2 * f]] + (row % 2 ? p[VP[2 * f + 1]] : 0);
    first += p[3] + p[4];
  }
  close(r.ownFrameShare.perLayer[0], own / 4, 1e-6, "own");
  close(r.frame0Share.perLayer[0], first / 4, 1e-6, "frame 0");
  // True matches: frame 1 patch 0 (row 2) → frame-0 patch 1 (position 4); frame 2 patch 1 (row 5) → position 4.
  close(
    r.trueMatchAttention.perLayer[0],
    (naive(q, k, 2, Hq, Hkv, D, T)[4] + naive(q, k, 5, Hq, Hkv, D, T)[4]) / 2,
    1e-6,
  );
  close(r.ownFrameShare.perLayer[1], u.ownFrameShare.perLayer[0], 1e-12, "second layer");
});

Deno.test("mean-norm ratio is 1 for identical rows and 0 for rows that cancel; centring removes the mean", () => {
  close(meanNormRatio(Float32Array.from([1, 2, 1, 2, 1, 2]), 3, 2), 1, 1e-7);
  close(meanNormRatio(Float32Array.from([1, 0, -1, 0]), 2, 2), 0, 1e-12);
  assert.ok(Number.isNaN(meanNormRatio(new Float32Array(4), 2, 2)));
  assert.deepEqual([...centreRows(Float32Array.from([1, 2, 3, 6]), 2, 2)], [-1, -2, 1, 2]);
});

Deno.test("a model's Q/K, centred Q/K and vision sources come from one model; attention shares are probabilities", async () => {
  await withToyModel(async (model, tok) => {
    const [seq] = toySequences(1, 3, 4);
    const [qk, centred] = modelFeatureSources(model, tok, { name: "toy", attention: true });
    assert.deepEqual([qk.name, centred.name], ["toy Q/K", "toy Q/K centred"]);
    const a = await qk.features(seq), c = await centred.features(seq);
    const N = 3 * 4, D = a.dim;
    for (let l = 0; l < 2; l++) {
      const want = centreRows(a.q[l], N, D);
      for (let i = 0; i < want.length; i++) close(c.q[l][i], want[i], 1e-6, "centred q");
    }
    assert.equal(c.confidence.kind, "cosine");
    const s = a.scalars!;
    for (const name of ["ownFrameShare", "frame0Share", "trueMatchAttention", "qMeanNormRatio", "kMeanNormRatio"]) {
      assert.equal(s[name].perLayer.length, 2, name);
      for (const x of s[name].perLayer) assert.ok(x >= 0 && x <= 1 + 1e-6, `${name} ${x}`);
    }
    for (let l = 0; l < 2; l++) assert.ok(s.ownFrameShare.perLayer[l] + s.frame0Share.perLayer[l] <= 1 + 1e-6);
    // Without `attention` only the collapse ratios are attached, with the same values.
    const [plain] = modelFeatureSources(model, tok, { name: "toy", centred: false });
    const p = (await plain.features(seq)).scalars!;
    assert.deepEqual(Object.keys(p).sort(), ["kMeanNormRatio", "qMeanNormRatio"]);
    for (let l = 0; l < 2; l++) close(p.qMeanNormRatio.perLayer[l], s.qMeanNormRatio.perLayer[l], 1e-6);
    // Vision: one layer of (F·P, out_hidden) tokens.
    const v = await visionFeatureSource(model, tok).features(seq);
    assert.equal(v.dim, TOY_CONFIG.vision_config.out_hidden_size);
    assert.equal(v.q[0].length, N * v.dim);
  });
});

Deno.test("model read-outs follow the data's grid: an odd 3 × 3-token grid (84² frames) gives 9 tokens per frame", async () => {
  await withToyModel(async (model, tok) => {
    const scene = generateScene(31);
    const idx = [10, 14, 20];
    const frames = await renderVideo(scene, scene.trajectory, { width: 84, height: 84, frames: idx, workers: 0 });
    const seq = annotateSequence(frames, idx, { rows: 3, cols: 3, patchSize: 28 }, new Rng(1));
    const [qk, centred] = modelFeatureSources(model, tok, { name: "toy", attention: true });
    for (const src of [qk, centred, visionFeatureSource(model, tok)]) {
      const f = await src.features(seq);
      assert.equal(f.q[0].length, 3 * 9 * f.dim, src.name);
    }
    const a = await analyzeCorrespondence([seq], qk);
    assert.equal(a.grid.rows, 3);
    assert.ok(Number.isFinite(a.layers[0].scalars.ownFrameShare));
  });
});

Deno.test("the hidden-state source is each layer's block output at the visual tokens, as the forward captures it", async () => {
  await withToyModel(async (model, tok) => {
    const [seq] = toySequences(1, 3, 4);
    const sources = modelFeatureSources(model, tok, { name: "toy", hidden: true });
    assert.deepEqual(sources.map((s) => s.name), ["toy Q/K", "toy Q/K centred", "toy hidden states"]);
    const hidden = sources[2];
    assert.equal(hidden.numLayers, TOY_CONFIG.num_hidden_layers);
    const h = await hidden.features(seq);
    assert.equal(h.dim, TOY_CONFIG.hidden_size);
    assert.equal(h.confidence.kind, "cosine");
    assert.equal(h.q, h.k, "the same vectors match both ways");
    // The same forward by hand.
    const frames = seq.frames.map((f) => ({ width: f.width, height: f.height, data: f.rgb }));
    const { inputIds, images } = encodePrompt(TOY_CONFIG, tok, imagesThenText(frames, SCENE_FRAMES_PROMPT));
    const out = model.forward({ inputIds, images }, { capture: { hidden: true }, logits: false });
    for (let l = 0; l < TOY_CONFIG.num_hidden_layers; l++) {
      const want = await out.layers[l].hidden!.toArray();
      assert.equal(h.q[l].length, 3 * 4 * TOY_CONFIG.hidden_size);
      for (let i = 0; i < want.length; i++) close(h.q[l][i], want[i], 1e-6, `layer ${l} hidden`);
      out.layers[l].hidden!.dispose();
    }
    // Without `hidden` there is no such source.
    assert.ok(modelFeatureSources(model, tok, { name: "toy" }).every((s) => !s.name.endsWith("hidden states")));
  });
});
