import assert from "node:assert/strict";
import { join } from "node:path";
import { DataFormatError } from "../../../core/errors.ts";
import { isModelFolder, readModelFolder } from "../../../core/model/folder/model_folder.ts";
import { resolveModelDir } from "../../../core/model/folder/resolve.ts";
import { QWEN2_5_VL_CHAT_TEMPLATE, writeRealShapeCheckpoint } from "../../fixtures/real_shape_checkpoint.ts";

Deno.test("a downloaded-style HF folder (real 3B widths, nested config, bf16 shards, new layout) is a model folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await writeRealShapeCheckpoint(dir);
    assert.ok(isModelFolder(dir), "sharded weights count as a model folder");
    assert.equal(resolveModelDir(dir).kind, "model-folder");
    const m = await readModelFolder(dir);
    assert.equal(m.weights.size, Object.keys(r.weightMap).length);
    assert.equal(m.weights.get("model.embed_tokens.weight")!.length, 151936 * 2048);
    assert.ok(!m.weights.has("lm_head.weight"), "tied: the head reads the embedding");
    assert.equal(m.config.hidden_size, 2048);
    assert.deepEqual(m.config.vision_config.fullatt_block_indexes, [1]);
    assert.equal(m.keyLayout, "language-model");
    assert.equal(m.processor!.chatTemplate, QWEN2_5_VL_CHAT_TEMPLATE);
    assert.equal(JSON.parse(m.tokenizerJson).model.type, "BPE");
    await Deno.remove(join(dir, "model-00002-of-00002.safetensors"));
    await assert.rejects(
      () => readModelFolder(dir),
      (e: unknown) => e instanceof DataFormatError && /model-00002-of-00002\.safetensors/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
