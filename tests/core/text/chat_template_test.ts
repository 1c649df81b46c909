import assert from "node:assert/strict";
import { buildTinyTokenizerJson } from "../../../core/text/build_tokenizer.ts";
import { TextTokenizer } from "../../../core/text/tokenizer.ts";
import { expandVisionPads, renderChatTemplate, visionTokenCount } from "../../../core/text/chat_template.ts";

const tok = TextTokenizer.fromJson(buildTinyTokenizerJson());

Deno.test("chat template gives the exact Qwen2.5-VL token sequence for image + text + video", () => {
  const text = renderChatTemplate([{
    role: "user",
    content: [{ type: "image" }, { type: "text", text: "How many red cubes?" }, { type: "video" }],
  }]);
  assert.equal(
    text,
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n" +
      "<|vision_start|><|image_pad|><|vision_end|>How many red cubes?<|vision_start|><|video_pad|><|vision_end|>" +
      "<|im_end|>\n<|im_start|>assistant\n",
  );
  // image grid (1, 4, 4) -> 4 merged tokens; video grid (2, 2, 2) -> 2.
  const expanded = expandVisionPads(text, [visionTokenCount([1, 4, 4], 2)], [visionTokenCount([2, 2, 2], 2)]);
  assert.deepEqual(tok.tokenize(expanded), [
    "<|im_start|>",
    "system",
    "Ċ",
    "You",
    "Ġare",
    "Ġa",
    "Ġhelpful",
    "Ġassistant",
    ".",
    "<|im_end|>",
    "Ċ",
    "<|im_start|>",
    "user",
    "Ċ",
    "<|vision_start|>",
    "<|image_pad|>",
    "<|image_pad|>",
    "<|image_pad|>",
    "<|image_pad|>",
    "<|vision_end|>",
    "How",
    "Ġmany",
    "Ġred",
    "Ġcub",
    "es",
    "?",
    "<|vision_start|>",
    "<|video_pad|>",
    "<|video_pad|>",
    "<|vision_end|>",
    "<|im_end|>",
    "Ċ",
    "<|im_start|>",
    "assistant",
    "Ċ",
  ]);
  assert.deepEqual(tok.encode(expanded), [
    601,
    348,
    10,
    303,
    286,
    259,
    300,
    302,
    46,
    602,
    10,
    601,
    342,
    10,
    609,
    612,
    612,
    612,
    612,
    610,
    364,
    380,
    467,
    545,
    386,
    63,
    609,
    613,
    613,
    610,
    602,
    10,
    601,
    349,
    10,
  ]);
});

Deno.test("an explicit system message replaces the default one; no generation prompt when disabled", () => {
  const text = renderChatTemplate(
    [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }, { role: "assistant", content: "Yes" }],
    { addGenerationPrompt: false },
  );
  assert.equal(
    text,
    "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYes<|im_end|>\n",
  );
});

Deno.test("addVisionId numbers pictures and videos separately", () => {
  const text = renderChatTemplate([{
    role: "user",
    content: [{ type: "image" }, { type: "video" }, { type: "image" }],
  }], { addVisionId: true });
  assert.match(text, /Picture 1: <\|vision_start\|><\|image_pad\|>.*Video 1: .*Picture 2: /);
});

Deno.test("expandVisionPads refuses a count mismatch", () => {
  assert.throws(() => expandVisionPads("<|image_pad|><|image_pad|>", [1], []));
  assert.throws(() => expandVisionPads("<|image_pad|>", [1, 2], []));
});
