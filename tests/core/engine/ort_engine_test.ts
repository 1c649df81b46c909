/**
 * The real onnxruntime-web engine on the tiny model with seeded random weights (exported once for this file):
 * streaming deltas, token accounting, determinism, cancellation, serialised concurrent calls, bad image bytes.
 */
import assert from "node:assert/strict";
import { encode as encodePng } from "fast-png";
import { isAllocationFailure, OrtEngine } from "../../../core/engine/ort_engine.ts";
import type { GenerationRequest } from "../../../core/engine/types.ts";
import { ContextLengthExceededError, DataFormatError } from "../../../core/errors.ts";
import { TINY_CONFIG } from "../../../core/model/config.ts";
import { exportHeadFreeModel } from "../../../core/model/export_onnx.ts";
import { initParameters } from "../../../core/model/init.ts";
import { buildTinyTokenizerJson } from "../../../core/text/build_tokenizer.ts";
import { Rng } from "../../../core/random.ts";

function noisePng(w: number, h: number, seed: number): Uint8Array {
  const r = new Rng(seed);
  return encodePng({
    width: w,
    height: h,
    data: Uint8Array.from({ length: w * h * 3 }, () => r.int(256)),
    channels: 3,
  });
}

function request(bytes: Uint8Array, over: Partial<GenerationRequest> = {}): GenerationRequest {
  return {
    messages: [
      { role: "system", content: [{ type: "text", text: "Answer briefly." }] },
      {
        role: "user",
        content: [
          { type: "image", image: { bytes, mime: "image/png", width: 56, height: 56 } },
          { type: "text", text: "Which cube is closer to the camera?" },
        ],
      },
    ],
    maxTokens: 12,
    temperature: 0,
    topP: 1,
    seed: 3,
    stop: [],
    ...over,
  };
}

Deno.test("OrtEngine on a random-init tiny export: streams, counts, cancels, serialises, rejects bad bytes", async (t) => {
  const dir = await Deno.makeTempDir();
  const logs: string[] = [];
  let engine: OrtEngine | undefined;
  try {
    await exportHeadFreeModel(TINY_CONFIG, initParameters(TINY_CONFIG, 5), buildTinyTokenizerJson(), dir);
    engine = await OrtEngine.load(dir, { log: (m) => logs.push(m), modelName: "tiny-test", contextTokens: 4096 });
    const eng = engine;
    const png = noisePng(56, 56, 1);

    await t.step("auto EP is chosen and logged; id and executionProvider agree with the log", () => {
      assert.equal(logs.length, 1);
      assert.match(logs[0], new RegExp(`onnxruntime-web ${eng.executionProvider} execution provider \\(`));
      assert.equal(eng.id, `ort-${eng.executionProvider}`);
      assert.equal(eng.modelName, "tiny-test");
      assert.ok(eng.ready());
    });

    let first = "";
    await t.step("deltas concatenate to the text; token counts are the model's; greedy is deterministic", async () => {
      const deltas: string[] = [];
      const r = await eng.generate(request(png), (d) => deltas.push(d));
      first = r.text;
      assert.equal(deltas.join(""), r.text);
      assert.ok(r.promptTokens > 4 + 20, `prompt tokens ${r.promptTokens} include the vision pads`);
      assert.ok(r.completionTokens >= 1 && r.completionTokens <= 12);
      if (r.finishReason === "length") assert.equal(r.completionTokens, 12);
      else assert.equal(r.finishReason, "stop");
      assert.ok(r.timingMs > 0);
      const again = await eng.generate(request(png));
      assert.equal(again.text, r.text);
      assert.equal(again.promptTokens, r.promptTokens);
      const other = await eng.generate(request(noisePng(56, 56, 2)));
      assert.equal(other.promptTokens, r.promptTokens, "same image size, same prompt length");
    });

    await t.step("max tokens bounds the completion and stop strings cut the text", async () => {
      const r = await eng.generate(request(png, { maxTokens: 3 }));
      assert.ok(r.completionTokens <= 3);
      assert.ok(first.startsWith(r.text.replace(/\uFFFD+$/, "")), `${JSON.stringify(r.text)} prefixes first`);
      const at = [...first].findIndex((_, k) => k >= 1 && /^[^\uFFFD]{2}$/.test(first.slice(k, k + 2)));
      assert.ok(at >= 1, `a 2-char stop string can be taken from ${JSON.stringify(first)}`);
      const cut = first.slice(at, at + 2);
      const deltas: string[] = [];
      const s = await eng.generate(request(png, { stop: [cut] }), (d) => deltas.push(d));
      assert.equal(s.text, first.slice(0, first.indexOf(cut)));
      assert.equal(deltas.join(""), s.text);
      assert.equal(s.finishReason, "stop");
    });

    await t.step("abort after the first delta resolves as cancelled with the text so far", async () => {
      const ac = new AbortController();
      const deltas: string[] = [];
      const r = await eng.generate(request(png, { maxTokens: 200 }), (d) => {
        deltas.push(d);
        ac.abort();
      }, ac.signal);
      assert.equal(r.finishReason, "cancelled");
      assert.ok(r.completionTokens < 200 && r.completionTokens >= 1);
      assert.equal(deltas.join(""), r.text);
      const pre = new AbortController();
      pre.abort();
      const before = eng.abortsSeen;
      const r0 = await eng.generate(request(png), undefined, pre.signal);
      assert.deepEqual([r0.finishReason, r0.completionTokens, r0.text], ["cancelled", 0, ""]);
      assert.equal(eng.abortsSeen, before + 1);
    });

    await t.step("concurrent calls run one at a time and give the sequential results", async () => {
      const [a, b] = await Promise.all([eng.generate(request(png)), eng.generate(request(png, { maxTokens: 4 }))]);
      assert.equal(a.text, first);
      assert.ok(first.startsWith(b.text.replace(/\uFFFD+$/, "")));
    });

    await t.step("an image whose bytes do not decode is a DataFormatError (HTTP 400), not a crash", async () => {
      const broken = png.slice(0, 60); // valid signature and IHDR, truncated data
      await assert.rejects(
        eng.generate(request(broken)),
        (e) => e instanceof DataFormatError && /image 0/.test(e.message),
      );
      const lying = request(png);
      const content = lying.messages[1].content;
      const part = typeof content === "string" ? undefined : content[0];
      if (part?.type === "image" && part.image) part.image.width = 57;
      await assert.rejects(eng.generate(lying), (e) => e instanceof DataFormatError && /57x56/.test(e.message));
      const ok = await eng.generate(request(png));
      assert.equal(ok.text, first, "the engine still works after a rejected request");
    });

    await t.step("countPromptTokens gives the model's own prompt length, from sizes alone", async () => {
      const r = await eng.generate(request(png, { maxTokens: 1 }));
      assert.equal(await eng.countPromptTokens(request(png).messages), r.promptTokens);
      // 640x480 -> 504x364 under the 448² budget: 18 x 13 = 234 pads instead of 56²'s 4
      const big = request(png).messages.map((m) => ({ ...m }));
      big[1] = {
        role: "user",
        content: [{ type: "image", image: { bytes: png, mime: "image/png", width: 640, height: 480 } }, {
          type: "text",
          text: "Which cube is closer to the camera?",
        }],
      };
      assert.equal(await eng.countPromptTokens(big), r.promptTokens - 4 + 234);
      const thin = [{
        role: "user" as const,
        content: [{ type: "image" as const, image: { bytes: png, mime: "image/png" as const, width: 1, height: 300 } }],
      }];
      await assert.rejects(
        eng.countPromptTokens(thin),
        (e) => e instanceof DataFormatError && /aspect ratio/.test(e.message),
      );
    });

    await t.step("a prompt over the context is refused before any model work", async () => {
      // the context served is the option, capped by config.json's max_position_embeddings (HF's default 32768)
      assert.equal(TINY_CONFIG.max_position_embeddings, 32768);
      assert.equal(eng.contextTokens, 4096);
      const long = request(png, { messages: [{ role: "user", content: "cube ".repeat(5000) }] });
      const t0 = performance.now();
      await assert.rejects(
        eng.generate(long),
        (e) => e instanceof ContextLengthExceededError && /4096/.test(e.message),
      );
      assert.ok(performance.now() - t0 < 1000, "refused without a prefill");
    });

    await t.step("onnxruntime's and V8's allocation failures are recognised as such", () => {
      assert.ok(
        isAllocationFailure(new Error("failed to call OrtRun(). ERROR_CODE: 6, ERROR_MESSAGE: std::bad_alloc")),
      );
      assert.ok(isAllocationFailure(new RangeError("Array buffer allocation failed")));
      assert.ok(!isAllocationFailure(new Error("input 'pixel_values' has a wrong shape")));
    });

    await t.step("after release the engine is not ready", async () => {
      await eng.release();
      assert.equal(eng.ready(), false);
    });
  } finally {
    await engine?.release();
    await Deno.remove(dir, { recursive: true });
  }
});
