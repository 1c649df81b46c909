/**
 * Parity of the exported graphs run by onnxruntime-web (WASM EP) with the f64 reference, KV-cache decoding vs the
 * no-cache forward, generation behaviour, and the export -> ONNX-in round trip. One export and one runner are
 * shared by all steps (session creation dominates the time).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { TINY_CONFIG as C } from "../../../core/model/config.ts";
import { initParameters, parameterShapes } from "../../../core/model/init.ts";
import { exportHeadFreeModel, loadExportDir } from "../../../core/model/export_onnx.ts";
import { OrtVlmRunner } from "../../../core/model/ort_runner.ts";
import { referenceForward } from "../../../core/model/reference/forward.ts";
import { getRopeIndex } from "../../../core/model/rope_index.ts";
import { preprocessImage, preprocessOptions, preprocessVideo } from "../../../core/image/preprocess.ts";
import { buildTinyTokenizerJson } from "../../../core/text/build_tokenizer.ts";
import { loadOnnxWeights } from "../../../core/onnx/read.ts";
import type { ChatMessage } from "../../../core/text/chat_template.ts";
import type { RgbImage } from "../../../core/image/types.ts";
import { Rng } from "../../../core/random.ts";
import { initGpu, noGrad, tidyAsync } from "../../../core/runtime.ts";
import { type VlmInput, VlmModel } from "../../../core/model/vlm.ts";

/** Our WebGPU forward's logits for the same prompt (the model issue's ours-vs-onnxruntime-web parity). */
async function gpuLogits(model: VlmModel, input: VlmInput): Promise<Float32Array> {
  return await tidyAsync(() => noGrad(() => model.forward(input)).logits!.toArray());
}

function noiseImage(w: number, h: number, seed: number): RgbImage {
  const r = new Rng(seed);
  return { width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, () => r.int(256)) };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("exported graphs on onnxruntime-web WASM match the f64 reference; KV cache equals no-cache", async (t) => {
  const W = initParameters(C, 1);
  const dir = await Deno.makeTempDir();
  try {
    await exportHeadFreeModel(C, W, buildTinyTokenizerJson(), dir);

    await t.step("round trip: export -> core/onnx/read gives bitwise-identical parameters", async () => {
      const back = await loadOnnxWeights([join(dir, "vision.onnx"), join(dir, "decoder.onnx")], parameterShapes(C));
      assert.equal(back.size, W.size);
      const loaded = await loadExportDir(dir);
      assert.deepEqual(loaded.config, C);
      assert.deepEqual(loaded.weights.get("lm_head.weight"), W.get("lm_head.weight"));
      for (const [name, data] of W) {
        const b = back.get(name)!;
        assert.ok(
          new Uint8Array(b.buffer, b.byteOffset, b.byteLength).every((v, i) => v === new Uint8Array(data.buffer)[i]),
          name,
        );
      }
    });

    const logs: string[] = [];
    const runner = await OrtVlmRunner.load(dir, { executionProvider: "wasm", log: (m) => logs.push(m) });
    assert.match(logs[0], /wasm execution provider/);
    const popts = preprocessOptions(C);
    await initGpu();
    const gpu = new VlmModel(C, W);

    await t.step("image prompt (224², 16 vision windows): logits max abs err <= 1e-3", async () => {
      const img = noiseImage(224, 224, 11);
      const msgs: ChatMessage[] = [{
        role: "user",
        content: [{ type: "image", image: img }, { type: "text", text: "How many red cubes?" }],
      }];
      const prompt = await runner.prepare(msgs);
      const { logits } = await runner.prefill(prompt);
      const pv = preprocessImage(img, popts);
      assert.deepEqual(pv.gridThw, [1, 16, 16]);
      const ref = referenceForward(C, W, { inputIds: prompt.inputIds, images: [{ ...pv }] });
      assert.deepEqual([...ref.positionIds[1]], [...prompt.positionIds[1]]);
      const err = maxAbsDiff(logits, ref.logits);
      assert.ok(err <= 1e-3, `image logits max abs err ${err}`);
      const ours = maxAbsDiff(await gpuLogits(gpu, { inputIds: prompt.inputIds, images: [{ ...pv }] }), logits);
      assert.ok(ours <= 1e-3, `our WebGPU forward vs onnxruntime-web: image logits max abs err ${ours}`);
    });

    await t.step("video prompt (4 frames at 2 fps -> grid (2, 8, 8)): logits max abs err <= 1e-3", async () => {
      const video = { frames: [0, 1, 2, 3].map((k) => noiseImage(112, 112, 20 + k)), fps: 2 };
      const msgs: ChatMessage[] = [{
        role: "user",
        content: [{ type: "text", text: "Which object moved left?" }, { type: "video", video }],
      }];
      const prompt = await runner.prepare(msgs);
      const { logits } = await runner.prefill(prompt);
      const pv = preprocessVideo(video, popts);
      assert.deepEqual(pv.gridThw, [2, 8, 8]);
      const ref = referenceForward(C, W, { inputIds: prompt.inputIds, videos: [{ ...pv }] });
      const err = maxAbsDiff(logits, ref.logits);
      assert.ok(err <= 1e-3, `video logits max abs err ${err}`);
      const ours = maxAbsDiff(await gpuLogits(gpu, { inputIds: prompt.inputIds, videos: [{ ...pv }] }), logits);
      assert.ok(ours <= 1e-3, `our WebGPU forward vs onnxruntime-web: video logits max abs err ${ours}`);
    });

    await t.step("KV-cache decoding equals the no-cache forward over the whole sequence", async () => {
      const img = noiseImage(112, 84, 5);
      const prompt = await runner.prepare([{
        role: "user",
        content: [{ type: "image", image: img }, { type: "text", text: "Is it left?" }],
      }]);
      let { logits, cache } = await runner.prefill(prompt);
      const V = C.vocab_size;
      const extra = [7, 301, 42];
      const stepLogits: Float32Array[] = [];
      for (const tok of extra) {
        ({ logits, cache } = await runner.decodeStep(tok, cache));
        stepLogits.push(logits.slice());
      }
      const ids = [...prompt.inputIds, ...extra];
      const pv = preprocessImage(img, popts);
      const full = getRopeIndex(C, ids, [pv]);
      const vis = new Float32Array(ids.length * C.hidden_size);
      vis.set(prompt.visualEmbeds);
      const { logits: all } = await runner.forward(ids, vis, full.positionIds, null);
      const T0 = prompt.inputIds.length;
      extra.forEach((_, k) => {
        const row = all.subarray((T0 + k) * V, (T0 + k + 1) * V);
        assert.ok(maxAbsDiff(stepLogits[k], row) <= 1e-4, `step ${k}`);
      });
      const ref = referenceForward(C, W, { inputIds: ids, images: [{ ...pv }] });
      assert.ok(maxAbsDiff(stepLogits[2], ref.logits.subarray((ids.length - 1) * V)) <= 1e-3);
    });

    await t.step("generate: greedy follows argmax, seeded sampling repeats, stop strings and abort work", async () => {
      const msgs: ChatMessage[] = [{ role: "user", content: "What colour is the chair?" }];
      const pieces: string[] = [];
      const g1 = await runner.generate(msgs, { maxTokens: 6 }, (d) => pieces.push(d));
      assert.equal(g1.tokens.length <= 6, true);
      assert.equal(pieces.join(""), g1.text);
      const prompt = await runner.prepare(msgs);
      const { logits } = await runner.prefill(prompt);
      const last = logits.subarray(logits.length - C.vocab_size);
      let best = 0;
      for (let i = 1; i < last.length; i++) if (last[i] > last[best]) best = i;
      assert.ok(g1.tokens.length > 0 || g1.finishReason === "stop");
      if (g1.finishReason !== "stop") assert.equal(g1.tokens[0], best);
      const s1 = await runner.generate(msgs, { maxTokens: 5, temperature: 1, topP: 0.9, seed: 3 });
      const s2 = await runner.generate(msgs, { maxTokens: 5, temperature: 1, topP: 0.9, seed: 3 });
      assert.deepEqual(s1.tokens, s2.tokens);
      assert.equal(s1.finishReason, "length");
      assert.ok(s1.text.length >= 2, `sampled text ${JSON.stringify(s1.text)}`);
      const stop = s1.text.slice(1, 2);
      const s3 = await runner.generate(msgs, { maxTokens: 5, temperature: 1, topP: 0.9, seed: 3, stop: [stop] });
      assert.equal(s3.finishReason, "stop");
      assert.equal(s3.text, s1.text.slice(0, s1.text.indexOf(stop)));
      const ac = new AbortController();
      ac.abort();
      assert.equal((await runner.generate(msgs, { maxTokens: 5 }, undefined, ac.signal)).finishReason, "cancelled");
    });
    await t.step("an external-data export (one file per tensor) runs and gives the same logits", async () => {
      const ext = join(dir, "ext");
      await exportHeadFreeModel(C, W, buildTinyTokenizerJson(), ext, { externalData: true });
      const files = [...Deno.readDirSync(join(ext, "decoder.onnx_data"))].map((e) => e.name);
      assert.ok(
        files.includes("model.layers.0.self_attn.q_proj.weight") && files.includes("lm_head.weight"),
        `${files}`,
      );
      assert.ok(files.length > 4 * C.num_hidden_layers, "each large tensor in its own file");
      const r2 = await OrtVlmRunner.load(ext, { executionProvider: "wasm", log: () => {} });
      const msgs: ChatMessage[] = [{ role: "user", content: "Is the lamp behind the sofa?" }];
      const a = await runner.prefill(await runner.prepare(msgs)), b = await r2.prefill(await r2.prepare(msgs));
      assert.deepEqual(a.logits, b.logits);
      await r2.release();
    });
    await runner.release();
    gpu.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
