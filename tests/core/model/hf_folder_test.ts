import assert from "node:assert/strict";
import { join } from "node:path";
import { DataFormatError } from "../../../core/errors.ts";
import { readHfFolder } from "../../../core/model/hf_folder.ts";
import { QWEN2_5_VL_CHAT_TEMPLATE, writeRealShapeCheckpoint } from "../../fixtures/real_shape_checkpoint.ts";

Deno.test("the real-shape 3B folder reads whole: nested config, bf16 shards streamed by tensor, tokenizer, processor", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await writeRealShapeCheckpoint(dir);
    const seen: string[] = [];
    let maxTensor = 0;
    const info = await readHfFolder(dir, (name, v) => {
      seen.push(name);
      maxTensor = Math.max(maxTensor, v.length);
      assert(Number.isFinite(v[0]) && Number.isFinite(v[v.length - 1]), name);
    });
    assert.equal(info.weights.size, 0, "streamed to the callback, not collected");
    assert.equal(seen.length, Object.keys(r.weightMap).length);
    assert.equal(maxTensor, 151936 * 2048, "the largest tensor is the tied embedding");
    assert.equal(info.config.hidden_size, 2048);
    assert.equal(info.config.tie_word_embeddings, true);
    assert.deepEqual(info.config.vision_config.fullatt_block_indexes, [1]);
    assert.equal(info.keyLayout, "language-model");
    assert.equal(info.storedDType, "BF16");
    assert.equal(info.processor.chatTemplate, QWEN2_5_VL_CHAT_TEMPLATE);
    assert.equal(JSON.parse(info.tokenizerJson).model.type, "BPE");
    assert.equal((info.rawConfig.text_config as Record<string, unknown>).num_hidden_layers, 2);
    await Deno.remove(join(dir, "tokenizer.json"));
    await assert.rejects(
      () => readHfFolder(dir),
      (e: unknown) => e instanceof DataFormatError && /tokenizer\.json/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
