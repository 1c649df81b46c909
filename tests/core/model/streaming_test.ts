/**
 * The shared decode loop (core/model/streaming.ts) as OrtVlmRunner.generate runs it: streamed pieces concatenate to
 * the text (greedy and sampled, with stop strings), timers run between decode steps, and an abort ends it with
 * finishReason "cancelled".
 */
import assert from "node:assert/strict";
import { TINY_CONFIG } from "../../../core/model/config.ts";
import { exportHeadFreeModel } from "../../../core/model/export_onnx.ts";
import { initParameters } from "../../../core/model/init.ts";
import { OrtVlmRunner } from "../../../core/model/ort_runner.ts";
import { safeEmitLength } from "../../../core/model/streaming.ts";
import { buildTinyTokenizerJson } from "../../../core/text/build_tokenizer.ts";
import type { ChatMessage } from "../../../core/text/chat_template.ts";
import { Rng } from "../../../core/random.ts";

Deno.test("OrtVlmRunner.generate streams its text, keeps the event loop turning and cancels", async (t) => {
  const dir = await Deno.makeTempDir();
  let runner: OrtVlmRunner | undefined;
  try {
    await exportHeadFreeModel(TINY_CONFIG, initParameters(TINY_CONFIG, 7), buildTinyTokenizerJson(), dir);
    runner = await OrtVlmRunner.load(dir, { executionProvider: "wasm", log: () => {} });
    const r = runner;
    const rng = new Rng(4);
    const image = { width: 56, height: 56, data: Uint8Array.from({ length: 56 * 56 * 3 }, () => rng.int(256)) };
    const messages: ChatMessage[] = [{
      role: "user",
      content: [{ type: "image", image }, { type: "text", text: "Describe the scene." }],
    }];

    await t.step("streamed pieces concatenate to the text (greedy, sampled); a stop string ends it", async () => {
      for (const opts of [{ maxTokens: 24 }, { maxTokens: 24, temperature: 0.9, topP: 0.8, seed: 11 }]) {
        const deltas: string[] = [];
        const got = await r.generate(messages, opts, (d) => deltas.push(d));
        const again = await r.generate(messages, opts);
        assert.deepEqual(again.tokens, got.tokens, "deterministic for a seed");
        assert.equal(deltas.join(""), got.text);
        const stop = [...got.text].find((ch, i) => i > 0 && ch !== "\uFFFD") ?? "";
        assert.ok(stop, `a stop character can be taken from ${JSON.stringify(got.text)}`);
        const cut = await r.generate(messages, { ...opts, stop: [stop] });
        assert.deepEqual([cut.text, cut.finishReason], [got.text.slice(0, got.text.indexOf(stop)), "stop"]);
      }
    });

    await t.step("a 5 ms interval keeps firing during a 40-token generation", async () => {
      let ticks = 0;
      const iv = setInterval(() => ticks++, 5);
      const t0 = performance.now();
      const g = await r.generate(messages, { maxTokens: 40 });
      clearInterval(iv);
      const ms = performance.now() - t0;
      assert.ok(g.tokens.length >= 20, `${g.tokens.length} tokens`);
      assert.ok(ticks >= Math.min(5, ms / 50), `${ticks} interval ticks in ${ms.toFixed(0)} ms`);
    });

    await t.step("an abort between steps ends with finishReason cancelled and the text so far", async () => {
      const ac = new AbortController();
      const g = await r.generate(messages, { maxTokens: 40 }, () => ac.abort(), ac.signal);
      assert.equal(g.finishReason, "cancelled");
      assert.ok(g.tokens.length >= 1 && g.tokens.length < 40);
    });
  } finally {
    await runner?.release();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("safeEmitLength holds back a trailing partial UTF-8 char and a possible stop-string start", () => {
  assert.equal(safeEmitLength("abc", []), 3);
  assert.equal(safeEmitLength("ab\uFFFD", []), 2);
  assert.equal(safeEmitLength("hello wo", ["world"]), 6);
  assert.equal(safeEmitLength("hello w", ["xyz"]), 7);
});
