/**
 * The engine on our own runtime (WASM device) against the onnxruntime-web engine on the same random-init tiny
 * export: the same prompt accounting and the same greedy reply, streamed in pieces that concatenate to it; abort
 * resolves as "cancelled"; release makes it unavailable.
 */
import assert from "node:assert/strict";
import { encode as encodePng } from "fast-png";
import { OrtEngine } from "../../../core/engine/ort_engine.ts";
import { RuntimeEngine } from "../../../core/engine/runtime_engine.ts";
import type { GenerationRequest } from "../../../core/engine/types.ts";
import { initDevice } from "../../../core/device_init.ts";
import { TINY_CONFIG } from "../../../core/model/config.ts";
import { exportHeadFreeModel } from "../../../core/model/export_onnx.ts";
import { initParameters } from "../../../core/model/init.ts";
import { buildTinyTokenizerJson } from "../../../core/text/build_tokenizer.ts";
import { Rng } from "../../../core/random.ts";

function request(bytes: Uint8Array, over: Partial<GenerationRequest> = {}): GenerationRequest {
  return {
    messages: [{
      role: "user",
      content: [
        { type: "image", image: { bytes, mime: "image/png", width: 56, height: 56 } },
        { type: "text", text: "Which cube is closer to the camera?" },
      ],
    }],
    maxTokens: 10,
    temperature: 0,
    topP: 1,
    seed: 3,
    stop: [],
    ...over,
  };
}

Deno.test("our runtime's engine on WASM answers as the onnxruntime-web engine does (greedy), streams and cancels", async () => {
  await initDevice({ device: "wasm", log: null });
  const dir = await Deno.makeTempDir();
  try {
    // Seed 11: its greedy reply has no vision tokens (VlmModel.decodeStep cannot embed a generated <|image_pad|>).
    await exportHeadFreeModel(TINY_CONFIG, initParameters(TINY_CONFIG, 11), buildTinyTokenizerJson(), dir);
    const r = new Rng(1);
    const png = encodePng({
      width: 56,
      height: 56,
      data: Uint8Array.from({ length: 56 * 56 * 3 }, () => r.int(256)),
      channels: 3,
    });
    const ours = await RuntimeEngine.load(dir, { modelName: "tiny-test" });
    const ort = await OrtEngine.load(dir, { executionProvider: "wasm", log: () => {} });
    assert.equal(ours.id, "ours-wasm");
    const pieces: string[] = [];
    const a = await ours.generate(request(png), (p) => pieces.push(p));
    const b = await ort.generate(request(png));
    assert.equal(a.promptTokens, b.promptTokens);
    assert.equal(a.text, b.text, "same greedy reply on both runtimes");
    assert.equal(a.completionTokens, b.completionTokens);
    assert.equal(pieces.join(""), a.text);
    const ac = new AbortController();
    ac.abort();
    assert.equal((await ours.generate(request(png), undefined, ac.signal)).finishReason, "cancelled");
    await ours.release();
    await ort.release();
    assert.equal(ours.ready(), false);
    await assert.rejects(() => ours.generate(request(png)), /released/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
