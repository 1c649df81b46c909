import assert from "node:assert/strict";
import { Rng } from "../../core/random.ts";
import { buildTinyTokenizerJson } from "../../core/text/build_tokenizer.ts";
import { TextTokenizer } from "../../core/text/tokenizer.ts";
import { IGNORE_INDEX } from "../../train/losses.ts";
import { chooseFrames, correspondenceSample, generalQaSample, subSequence } from "../../train/samples.ts";
import { TOY_CONFIG, toySequences } from "./_toy.ts";

const tok = TextTokenizer.fromJson(buildTinyTokenizerJson(0));

Deno.test("frames enter as separate images: one (1, h, w) grid and h·w/4 pad tokens per frame", () => {
  const [seq] = toySequences(1, 4);
  const s = correspondenceSample(TOY_CONFIG, tok, seq, [0, 2, 3]);
  assert.equal(s.images.length, 3);
  for (const im of s.images) assert.deepEqual(im.gridThw, [1, 4, 4]);
  const pads = [...s.inputIds].filter((t) => t === TOY_CONFIG.image_token_id).length;
  assert.equal(pads, 3 * 4); // 2 × 2 merged tokens per 56² frame
  assert.equal(s.targets, null);
  assert.equal(s.corr!.frames, 3);
});

Deno.test("subSequence remaps tracks and patch depths to the chosen frames; pairs only where visible", () => {
  const [seq] = toySequences(1, 4);
  const sub = subSequence(seq, [0, 3]);
  const P = 4;
  assert.deepEqual([...sub.patchDepth], [...seq.patchDepth.subarray(0, P), ...seq.patchDepth.subarray(3 * P, 4 * P)]);
  for (let t = 0; t < sub.tracks.length; t++) {
    assert.equal(sub.targetPatch[t * 2 + 1], seq.targetPatch[t * 4 + 3]);
  }
  const s = correspondenceSample(TOY_CONFIG, tok, seq, [0, 3]);
  const visible = [...Array(seq.tracks.length).keys()].filter((t) => seq.targetPatch[t * 4 + 3] >= 0).length;
  assert.equal(s.corr!.pairs.length, visible);
  assert.ok(visible < seq.tracks.length, "the toy case should hide some tracks");
});

Deno.test("chooseFrames keeps the anchor frame 0 and returns distinct ascending frames", () => {
  const [seq] = toySequences(1, 6);
  const f = chooseFrames(seq, 3, new Rng(1));
  assert.equal(f[0], 0);
  assert.equal(new Set(f).size, 3);
  assert.deepEqual(f, [...f].sort((a, b) => a - b));
});

Deno.test("general QA items train on the answer and <|im_end|> only", () => {
  const [seq] = toySequences(1, 2);
  const s = generalQaSample(TOY_CONFIG, tok, seq, new Rng(3))!;
  const counted = [...s.targets!].filter((t) => t !== IGNORE_INDEX);
  assert.ok(counted.length >= 2);
  assert.equal(counted.at(-1), tok.tokenId("<|im_end|>"));
  assert.equal(s.inputIds.at(-1), tok.tokenId("<|im_end|>"));
});
