import assert from "node:assert/strict";
import { initGpu, noGrad, Rng, tidy } from "../../../core/runtime.ts";
import { TINY_CONFIG, tinySpecialId } from "../../../core/model/config.ts";
import { initParameters } from "../../../core/model/init.ts";
import { VlmModel } from "../../../core/model/vlm.ts";
import { generate, safeEmitLength } from "../../../core/model/vlm_generate.ts";
import { argmax } from "../../../core/model/sampling.ts";
import { buildTinyTokenizerJson } from "../../../core/text/build_tokenizer.ts";
import { TextTokenizer } from "../../../core/text/tokenizer.ts";
import { headDim } from "../../../core/model/config.ts";
import { assertClose } from "../ops/_check.ts";

const c = TINY_CONFIG;

/** <|im_start|> text <vision_start> 16 image pads <vision_end> text, with a (1, 8, 8) image of random pixels. */
function imagePrompt(seed: number) {
  const rng = new Rng(seed);
  const gridThw: [number, number, number] = [1, 8, 8];
  const px = new Float32Array(64 * 3 * 2 * 14 * 14);
  for (let i = 0; i < px.length; i++) px[i] = rng.normal();
  const ids = [tinySpecialId("<|im_start|>"), 11, 42, c.vision_start_token_id];
  for (let i = 0; i < 16; i++) ids.push(c.image_token_id);
  ids.push(c.vision_end_token_id, 99, 5, 300);
  return { inputIds: ids, images: [{ gridThw, pixelValues: px }] };
}

Deno.test("KV-cache decoding gives the no-cache forward's logits (1e-4) for 4 tokens after an image prompt", async () => {
  await initGpu();
  const model = new VlmModel(c, initParameters(c, 3));
  const prompt = imagePrompt(5);
  const full = (ids: number[]) =>
    tidy(() => noGrad(() => model.forward({ ...prompt, inputIds: ids }, { logits: "last" })).logits!);
  const pre = tidy(() => model.prefill(prompt));
  const cache = pre.cache;
  try {
    let logits = await pre.logits.toArray();
    pre.logits.dispose();
    const ref0 = full(prompt.inputIds);
    assertClose("prefill logits", logits, await ref0.toArray(), 0, 1e-4);
    ref0.dispose();
    const ids = [...prompt.inputIds];
    for (let step = 0; step < 4; step++) {
      const next = argmax(logits);
      ids.push(next);
      const t = tidy(() => model.decodeStep(next, cache));
      logits = await t.toArray();
      t.dispose();
      const ref = full(ids);
      assertClose(`decode step ${step} logits`, logits, await ref.toArray(), 0, 1e-4);
      ref.dispose();
      assert.equal(cache.length, ids.length);
      for (const k of [...cache.keys, ...cache.values]) {
        assert.deepEqual(k.shape, [1, c.num_key_value_heads, ids.length, headDim(c)]);
      }
    }
    // text after the image continues from max position + 1 (rope delta < 0 here: 16 pads span 4 × 4 positions)
    assert.ok(cache.ropeDelta < 0);
  } finally {
    cache.dispose();
  }
  assert.equal(cache.keys.length, 0);
  model.dispose();
});

Deno.test("greedy generation is deterministic, stops on a stop string and streams exactly its text", async () => {
  await initGpu();
  const model = new VlmModel(c, initParameters(c, 3));
  const tok = TextTokenizer.fromJson(buildTinyTokenizerJson());
  const prompt = imagePrompt(6);
  const a = await generate(model, tok, prompt, { maxTokens: 6 });
  const streamed: string[] = [];
  const b = await generate(model, tok, prompt, { maxTokens: 6, seed: 99 }, (d) => streamed.push(d));
  assert.deepEqual(b.tokens, a.tokens);
  assert.equal(b.text, a.text);
  assert.equal(streamed.join(""), a.text);
  assert.ok(a.tokens.length > 0, "random model stopped at once; pick another prompt");
  if (a.finishReason === "length") assert.equal(a.tokens.length, 6);
  // A stop string taken from the middle of the greedy text cuts the reply right before it.
  const cut = Math.floor(a.text.length / 2);
  const stop = a.text.slice(cut, cut + 2);
  if (stop.length === 2) {
    const s = await generate(model, tok, prompt, { maxTokens: 6, stop: [stop] });
    assert.equal(s.finishReason, "stop");
    assert.equal(s.text, a.text.slice(0, a.text.indexOf(stop)));
  }
  // An aborted signal ends before any token.
  const ac = new AbortController();
  ac.abort();
  assert.equal((await generate(model, tok, prompt, {}, undefined, ac.signal)).finishReason, "cancelled");
  model.dispose();
});

Deno.test("sampling with a seed repeats exactly, another seed gives other tokens", async () => {
  await initGpu();
  const model = new VlmModel(c, initParameters(c, 3));
  const tok = TextTokenizer.fromJson(buildTinyTokenizerJson());
  const prompt = { inputIds: [tinySpecialId("<|im_start|>"), 11, 42, 99, 5, 300] };
  const opts = { maxTokens: 8, temperature: 1.5, topP: 0.95 };
  const s1 = await generate(model, tok, prompt, { ...opts, seed: 1 });
  const s1b = await generate(model, tok, prompt, { ...opts, seed: 1 });
  const s2 = await generate(model, tok, prompt, { ...opts, seed: 2 });
  assert.deepEqual(s1b.tokens, s1.tokens);
  assert.notDeepEqual(s2.tokens, s1.tokens);
  model.dispose();
});

Deno.test("two generations at once interleave on the event loop and each matches its run alone", async () => {
  await initGpu();
  const model = new VlmModel(c, initParameters(c, 3));
  const tok = TextTokenizer.fromJson(buildTinyTokenizerJson());
  const p1 = imagePrompt(6), p2 = { inputIds: [tinySpecialId("<|im_start|>"), 11, 42, 99, 5, 300] };
  const opts = { maxTokens: 5, temperature: 1, seed: 4 };
  const alone = [await generate(model, tok, p1, opts), await generate(model, tok, p2, opts)];
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const order: number[] = [];
  const both = await Promise.all([
    generate(model, tok, p1, opts, () => order.push(1)),
    generate(model, tok, p2, opts, () => order.push(2)),
  ]);
  clearInterval(timer);
  assert.deepEqual(both.map((r) => r.tokens), alone.map((r) => r.tokens));
  assert.ok(ticks >= 5, `a timer should fire between tokens; fired ${ticks} times`);
  const firstOf2 = order.indexOf(2);
  assert.ok(firstOf2 >= 0 && order.lastIndexOf(1) > firstOf2, `streams should interleave: ${order}`);
  model.dispose();
});

Deno.test("held-back text: partial stop-string prefixes and an unfinished UTF-8 char are not emitted yet", () => {
  assert.equal(safeEmitLength("hello wor", ["world"]), 6);
  assert.equal(safeEmitLength("abc\uFFFD", []), 3);
  assert.equal(safeEmitLength("abc", ["xyz"]), 3);
});
