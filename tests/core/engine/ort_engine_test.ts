/**
 * The real onnxruntime-web engine on the tiny model with seeded random weights (exported once for this file):
 * streaming deltas, token accounting, determinism, cancellation, serialised concurrent calls, bad image bytes.
 */
import assert from "node:assert/strict";
import { encode as encodePng } from "fast-png";
import { OrtEngine, toRunnerMessages } from "../../../core/engine/ort_engine.ts";
import type { GenerationRequest } from "../../../core/engine/types.ts";
import { DataFormatError } from "../../../core/errors.ts";
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
          { type: "image", bytes, mime: "image/png", width: 56, height: 56 },
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
    engine = await OrtEngine.load(dir, { log: (m) => logs.push(m), modelName: "tiny-test" });
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
      const part = lying.messages[1].content[0];
      if (part.type === "image") part.width = 57;
      await assert.rejects(eng.generate(lying), (e) => e instanceof DataFormatError && /57x56/.test(e.message));
      const ok = await eng.generate(request(png));
      assert.equal(ok.text, first, "the engine still works after a rejected request");
    });

    await t.step("toRunnerMessages keeps roles and part order and decodes images", () => {
      const m = toRunnerMessages(request(png).messages);
      assert.deepEqual(m.map((x) => x.role), ["system", "user"]);
      const parts = m[1].content;
      assert.ok(Array.isArray(parts));
      assert.equal(parts[0].type, "image");
      if (parts[0].type === "image") assert.deepEqual([parts[0].image?.width, parts[0].image?.height], [56, 56]);
      assert.deepEqual(parts[1], { type: "text", text: "Which cube is closer to the camera?" });
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
