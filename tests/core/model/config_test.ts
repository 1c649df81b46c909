import assert from "node:assert/strict";
import { headDim, parseVlmConfig, TINY_CONFIG, visionHeadDim } from "../../../core/model/config.ts";
import { ConfigError } from "../../../core/errors.ts";

const fixture = new URL("../../fixtures/qwen2_5_vl_7b_config.json", import.meta.url);

Deno.test("the public Qwen2.5-VL-7B-Instruct config.json validates and keeps unknown HF fields", async () => {
  const raw = JSON.parse(await Deno.readTextFile(fixture));
  const c = parseVlmConfig(raw);
  assert.equal(c.hidden_size, 3584);
  assert.equal(headDim(c), 128);
  assert.equal(visionHeadDim(c), 80);
  assert.deepEqual(c.vision_config.fullatt_block_indexes, [7, 15, 23, 31]);
  assert.deepEqual(c.rope_scaling.mrope_section, [16, 24, 24]);
  assert.equal((c as Record<string, unknown>).max_window_layers, 28);
  assert.equal(c.vision_config.tokens_per_second, 2);
});

Deno.test("a wrong type gets a ConfigError naming the nested field path", async () => {
  const raw = JSON.parse(await Deno.readTextFile(fixture));
  raw.vision_config.window_size = "112";
  assert.throws(
    () => parseVlmConfig(raw),
    (e: unknown) => e instanceof ConfigError && /vision_config\.window_size/.test(e.message),
  );
  const raw2 = JSON.parse(await Deno.readTextFile(fixture));
  raw2.rope_scaling.mrope_section = [16, 24, 8];
  assert.throws(
    () => parseVlmConfig(raw2),
    (e: unknown) => e instanceof ConfigError && /mrope_section/.test(e.message),
  );
  const raw3 = JSON.parse(await Deno.readTextFile(fixture));
  delete raw3.num_key_value_heads;
  assert.throws(
    () => parseVlmConfig(raw3),
    (e: unknown) => e instanceof ConfigError && /num_key_value_heads/.test(e.message),
  );
});

Deno.test("tiny preset keeps the architecture: GQA rep 2, 3 M-RoPE sections, window + full vision blocks", () => {
  const c = TINY_CONFIG;
  assert.equal(c.num_attention_heads / c.num_key_value_heads, 2);
  assert.equal(headDim(c), 32);
  assert.deepEqual(c.vision_config.fullatt_block_indexes, [1]);
  assert.equal(c.vision_config.window_size / (c.vision_config.patch_size * c.vision_config.spatial_merge_size), 2);
  assert.equal(parseVlmConfig(JSON.parse(JSON.stringify(c))).vocab_size, 640);
});
