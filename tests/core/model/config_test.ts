import assert from "node:assert/strict";
import { headDim, parseVlmConfig, TINY_CONFIG, visionHeadDim } from "../../../core/model/config.ts";
import { ConfigError } from "../../../core/errors.ts";

const fixture = (name: string) => new URL(`../../fixtures/${name}`, import.meta.url);
const readFixture = (name: string) => JSON.parse(Deno.readTextFileSync(fixture(name)));

/** What transformers' Qwen2_5_VLVisionConfig holds for the published vision_config bodies. */
function expectedVision(extra: Record<string, unknown>, outHidden: number) {
  return {
    depth: 32,
    hidden_size: 1280,
    hidden_act: "silu",
    intermediate_size: 3420,
    num_heads: 16,
    in_channels: 3,
    patch_size: 14,
    spatial_merge_size: 2,
    temporal_patch_size: 2,
    tokens_per_second: 2,
    window_size: 112,
    out_hidden_size: outHidden,
    fullatt_block_indexes: [7, 15, 23, 31],
    initializer_range: 0.02,
    // Extras transformers keeps as attributes without reading them.
    in_chans: 3,
    model_type: "qwen2_5_vl",
    spatial_patch_size: 14,
    ...extra,
  };
}

/** Fields both published checkpoints share after resolution (M-RoPE rewritten to the default rope type). */
const SHARED = {
  architectures: ["Qwen2_5_VLForConditionalGeneration"],
  attention_dropout: 0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  vision_start_token_id: 151652,
  vision_end_token_id: 151653,
  vision_token_id: 151654,
  image_token_id: 151655,
  video_token_id: 151656,
  hidden_act: "silu",
  initializer_range: 0.02,
  max_position_embeddings: 128000,
  model_type: "qwen2_5_vl",
  rms_norm_eps: 1e-6,
  rope_theta: 1e6,
  // transformers drops the window size when use_sliding_window is false.
  sliding_window: null,
  torch_dtype: "bfloat16",
  use_cache: true,
  use_sliding_window: false,
  rope_scaling: { type: "default", rope_type: "default", mrope_section: [16, 24, 24] },
};

const EXPECTED_3B = {
  ...SHARED,
  hidden_size: 2048,
  intermediate_size: 11008,
  max_window_layers: 70,
  num_attention_heads: 16,
  num_hidden_layers: 36,
  num_key_value_heads: 2,
  tie_word_embeddings: true,
  transformers_version: "4.41.2",
  vocab_size: 151936,
  vision_config: expectedVision({}, 2048),
};

const EXPECTED_7B = {
  ...SHARED,
  hidden_size: 3584,
  intermediate_size: 18944,
  max_window_layers: 28,
  num_attention_heads: 28,
  num_hidden_layers: 28,
  num_key_value_heads: 4,
  tie_word_embeddings: false,
  transformers_version: "4.41.2",
  vocab_size: 152064,
  // 7B's file has no out_hidden_size: the class default 3584 is its LLM width.
  vision_config: expectedVision({}, 3584),
};

Deno.test("verbatim Qwen2.5-VL-3B-Instruct config.json resolves every field to transformers' values", () => {
  const c = parseVlmConfig(readFixture("qwen2_5_vl_3b_config.json"));
  assert.deepEqual(c, EXPECTED_3B);
  assert.equal(headDim(c), 128);
  assert.equal(visionHeadDim(c), 80);
});

Deno.test("verbatim Qwen2.5-VL-7B-Instruct config.json resolves every field to transformers' values", () => {
  const c = parseVlmConfig(readFixture("qwen2_5_vl_7b_config.json"));
  assert.deepEqual(c, EXPECTED_7B);
});

Deno.test("nested text_config layout resolves like the flat file; the top level wins for vision token ids", () => {
  const c = parseVlmConfig(readFixture("qwen2_5_vl_3b_nested_config.json"));
  const { transformers_version: _a, ...flat } = EXPECTED_3B;
  const { transformers_version: v, ...rest } = c as Record<string, unknown>;
  assert.equal(v, "4.53.1");
  assert.equal(rest.text_config, undefined, "text fields are hoisted, not duplicated");
  assert.deepEqual(rest, {
    ...flat,
    vision_config: expectedVision({ torch_dtype: "bfloat16" }, 2048),
  });
});

Deno.test("a resolved config parses again to itself (checkpoints store the resolved form)", () => {
  for (const name of ["qwen2_5_vl_3b_config.json", "qwen2_5_vl_7b_config.json", "qwen2_5_vl_3b_nested_config.json"]) {
    const c = parseVlmConfig(readFixture(name));
    assert.deepEqual(parseVlmConfig(JSON.parse(JSON.stringify(c))), c, name);
  }
  assert.deepEqual(parseVlmConfig(JSON.parse(JSON.stringify(TINY_CONFIG))), TINY_CONFIG);
});

Deno.test("absent fields take the class defaults, explicit null kv heads means multi-head, in_chans is not read", () => {
  const raw = readFixture("qwen2_5_vl_7b_config.json");
  delete raw.rms_norm_eps;
  delete raw.vision_config.tokens_per_second;
  raw.num_key_value_heads = null;
  raw.vision_config.in_chans = 4;
  const c = parseVlmConfig(raw);
  assert.equal(c.rms_norm_eps, 1e-5);
  assert.equal(c.vision_config.tokens_per_second, 4);
  assert.equal(c.num_key_value_heads, 28);
  assert.equal(c.vision_config.in_channels, 3);
  const empty = parseVlmConfig({ rope_scaling: { type: "mrope", mrope_section: [16, 24, 24] } });
  assert.equal(empty.hidden_size, 8192);
  assert.equal(empty.num_hidden_layers, 80);
  assert.equal(empty.vision_config.hidden_size, 3584);
  assert.equal(empty.image_token_id, 151655);
});

Deno.test("a wrong type gets a ConfigError naming the field path as it is in the file", () => {
  const isConfigError = (re: RegExp) => (e: unknown) => e instanceof ConfigError && re.test(e.message);
  const raw = readFixture("qwen2_5_vl_7b_config.json");
  raw.vision_config.window_size = "112";
  assert.throws(() => parseVlmConfig(raw), isConfigError(/vision_config\.window_size/));
  const raw2 = readFixture("qwen2_5_vl_7b_config.json");
  raw2.rope_scaling.mrope_section = [16, 24, 8];
  assert.throws(() => parseVlmConfig(raw2), isConfigError(/rope_scaling\.mrope_section/));
  // Absent, the class default 8 kv heads does not divide 7B's 28 query heads.
  const raw3 = readFixture("qwen2_5_vl_7b_config.json");
  delete raw3.num_key_value_heads;
  assert.throws(() => parseVlmConfig(raw3), isConfigError(/num_key_value_heads.*got 8/));
  const raw4 = readFixture("qwen2_5_vl_3b_nested_config.json");
  raw4.text_config.hidden_size = null;
  assert.throws(() => parseVlmConfig(raw4), isConfigError(/text_config\.hidden_size/));
  const raw5 = readFixture("qwen2_5_vl_3b_config.json");
  delete raw5.rope_scaling;
  assert.throws(() => parseVlmConfig(raw5), isConfigError(/rope_scaling/));
  const raw6 = readFixture("qwen2_5_vl_3b_config.json");
  raw6.use_sliding_window = true;
  raw6.max_window_layers = 10;
  assert.throws(() => parseVlmConfig(raw6), isConfigError(/sliding-window LLM attention/));
});

Deno.test("a resolved config spread with fewer layers parses (no stale derived per-layer fields)", () => {
  const c = parseVlmConfig({ ...readFixture("qwen2_5_vl_3b_config.json"), num_hidden_layers: 2 });
  const again = parseVlmConfig({ ...c, num_hidden_layers: 1 });
  assert.equal(again.num_hidden_layers, 1);
  const raw = readFixture("qwen2_5_vl_3b_config.json");
  raw.layer_types = ["full_attention"];
  assert.throws(
    () => parseVlmConfig(raw),
    (e: unknown) => e instanceof ConfigError && /layer_types.*got 1/.test(e.message),
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
