import assert from "node:assert/strict";
import { TINY_CONFIG } from "../../../core/model/config.ts";
import { encodePrompt, imagesThenText } from "../../../core/model/processing.ts";
import { DataFormatError } from "../../../core/errors.ts";
import { buildTinyTokenizerJson } from "../../../core/text/build_tokenizer.ts";
import { TextTokenizer } from "../../../core/text/tokenizer.ts";
import { Rng } from "../../../core/random.ts";
import type { RgbImage } from "../../../core/image/types.ts";

const tok = TextTokenizer.fromJson(buildTinyTokenizerJson(0));
const image = (w: number, h: number, seed = 0): RgbImage => {
  const rng = new Rng(seed);
  return { width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, () => rng.int(256)) };
};

Deno.test("encodePrompt on the worked example: a 56² image and 'Hi' give 4 pads, (16, 1176) pixels, M-RoPE delta −2", () => {
  const p = encodePrompt(TINY_CONFIG, tok, imagesThenText([image(56, 56)], "Hi"));
  const pads = "<|image_pad|>".repeat(4);
  assert.equal(
    tok.decode(Array.from(p.inputIds)),
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n" +
      `<|vision_start|>${pads}<|vision_end|>Hi<|im_end|>\n<|im_start|>assistant\n`,
  );
  assert.equal(p.images.length, 1);
  assert.equal(p.videos.length, 0);
  assert.deepEqual(p.images[0].gridThw, [1, 4, 4]);
  assert.equal(p.images[0].pixelValues.length, 16 * 3 * 2 * 14 * 14);
  const T = p.inputIds.length;
  const padAt = [...p.inputIds.keys()].filter((t) => p.inputIds[t] === TINY_CONFIG.image_token_id);
  assert.equal(padAt.length, 4);
  const s = padAt[0]; // the vision start sits at s − 1; text before it counts 0, 1, 2, …
  assert.equal(p.inputIds[s - 1], TINY_CONFIG.vision_start_token_id);
  const [pt, ph, pw] = p.positionIds;
  assert.deepEqual(padAt.map((t) => [pt[t], ph[t], pw[t]]), [[s, s, s], [s, s, s + 1], [s, s + 1, s], [
    s,
    s + 1,
    s + 1,
  ]]);
  // the vision end continues from the largest image position + 1, then text counts up
  const end = padAt[3] + 1;
  assert.deepEqual([pt[end], ph[end], pw[end]], [s + 2, s + 2, s + 2]);
  assert.equal(pt[T - 1], s + 2 + (T - 1 - end));
  assert.equal(p.ropeDelta, -2);
});

Deno.test("encodePrompt keeps images and videos in prompt order with one pad per merged token each", () => {
  const video = { frames: [image(56, 84, 1), image(56, 84, 2)], fps: 2 };
  const p = encodePrompt(TINY_CONFIG, tok, [
    { role: "system", content: "Be brief." },
    {
      role: "user",
      content: [{ type: "image", image: image(112, 56, 3) }, { type: "video", video }, { type: "text", text: "?" }],
    },
  ], { addGenerationPrompt: false });
  assert.deepEqual(p.images.map((i) => i.gridThw), [[1, 4, 8]]);
  assert.deepEqual(p.videos.map((v) => v.gridThw), [[1, 6, 4]]);
  const count = (id: number) => p.inputIds.filter((x) => x === id).length;
  assert.equal(count(TINY_CONFIG.image_token_id), 8);
  assert.equal(count(TINY_CONFIG.video_token_id), 6);
  const text = tok.decode(Array.from(p.inputIds));
  assert.ok(text.startsWith("<|im_start|>system\nBe brief.<|im_end|>\n"), text);
  assert.ok(text.endsWith("<|vision_end|>?<|im_end|>\n"), "no generation prompt when addGenerationPrompt is false");
  assert.ok(text.indexOf("<|image_pad|>") < text.indexOf("<|video_pad|>"));
});

Deno.test("encodePrompt honours the pixel budget and names a part without pixels", () => {
  const small = encodePrompt(TINY_CONFIG, tok, imagesThenText([image(224, 224)], "x"), { maxPixels: 112 * 112 });
  assert.deepEqual(small.images[0].gridThw, [1, 8, 8]);
  assert.throws(
    () => encodePrompt(TINY_CONFIG, tok, [{ role: "user", content: [{ type: "image" }] }]),
    (e: unknown) => e instanceof DataFormatError && e.message.includes("0.content.image"),
  );
});
