import assert from "node:assert/strict";
import { buildTinyTokenizerJson, tinyCorpus } from "../../../core/text/build_tokenizer.ts";
import { TextTokenizer } from "../../../core/text/tokenizer.ts";
import { applyMerges, preTokenize, toByteSymbols } from "../../../core/text/byte_level.ts";
import { TINY_BPE_SIZE, TINY_CONFIG, tinySpecialId } from "../../../core/model/config.ts";
import { DataFormatError } from "../../../core/errors.ts";

const json = buildTinyTokenizerJson();
const tok = TextTokenizer.fromJson(json);

Deno.test("tiny tokenizer.json is deterministic and holds Qwen's special tokens at the config's ids", () => {
  assert.equal(buildTinyTokenizerJson(), json);
  assert.equal(tok.size, TINY_BPE_SIZE + 14);
  assert.ok(tok.size <= TINY_CONFIG.vocab_size);
  assert.equal(tok.tokenId("<|image_pad|>"), TINY_CONFIG.image_token_id);
  assert.equal(tok.tokenId("<|video_pad|>"), TINY_CONFIG.video_token_id);
  assert.equal(tok.tokenId("<|vision_start|>"), TINY_CONFIG.vision_start_token_id);
  assert.equal(tok.tokenId("<|vision_end|>"), TINY_CONFIG.vision_end_token_id);
  assert.equal(tok.tokenId("<|im_end|>"), tinySpecialId("<|im_end|>"));
  assert.throws(() => tok.tokenId("<|nope|>"), DataFormatError);
});

Deno.test("library encoding equals a plain byte-level BPE merge loop on corpus and unseen text", () => {
  const parsed = JSON.parse(json);
  const ranks = new Map<string, number>(
    (parsed.model.merges as [string, string][]).map(([a, b], i) => [a + " " + b, i]),
  );
  const vocab = parsed.model.vocab as Record<string, number>;
  const texts = [
    tinyCorpus(7, 50),
    "Zebra-like objects: 17 purple giraffes, über naïve 東京!\n\n  tabs\tand  spaces  ",
  ];
  for (const text of texts) {
    const expected = preTokenize(text).flatMap((p) => applyMerges(toByteSymbols(p), ranks)).map((s) => vocab[s]);
    assert.deepEqual(tok.encode(text), expected);
  }
});

Deno.test("decode inverts encode on arbitrary unicode; special tokens in text stay text", () => {
  const s = "<|im_start|>user\nΩ é 你好 🙂 red cube<|im_end|>\n";
  const ids = tok.encode(s);
  assert.equal(tok.decode(ids), s);
  assert.ok(ids.every((id) => id < TINY_BPE_SIZE && !tok.isSpecial(id)), "no special id from text");
  const withControl = [tok.tokenId("<|im_start|>"), ...tok.encode("user\nhi"), tok.tokenId("<|im_end|>")];
  assert.equal(tok.decode(withControl), "<|im_start|>user\nhi<|im_end|>");
  assert.equal(tok.decode(withControl, { skipSpecialTokens: true }), "user\nhi");
});

Deno.test("no special token string, alone or glued to text, encodes to a special id", () => {
  const parsed = JSON.parse(json) as { added_tokens: { content: string; special: boolean }[] };
  for (const { content } of parsed.added_tokens) {
    for (const s of [content, `a${content}b`, ` ${content}\n`, content.repeat(3)]) {
      const ids = tok.encode(s);
      assert.ok(ids.every((id) => !tok.isSpecial(id)), `${JSON.stringify(s)} -> ${ids}`);
      assert.equal(tok.decode(ids), s);
    }
  }
});

Deno.test("common QA words are single tokens after training", () => {
  for (const w of [" chair", " red", " many", " assistant", " left"]) assert.equal(tok.encode(w).length, 1, w);
});

Deno.test("a tokenizer.json without a BPE model is rejected with DataFormatError", () => {
  assert.throws(() => TextTokenizer.fromJson({ model: { type: "WordPiece" } }), DataFormatError);
});
