/**
 * Hugging Face class defaults for Qwen2.5-VL, applied the way transformers applies them, so that a `config.json` as
 * published (whose `vision_config` often holds only a handful of fields) resolves to the model transformers builds.
 *
 * Sources: transformers `models/qwen2_5_vl/configuration_qwen2_5_vl.py`:
 * - `Qwen2_5_VLVisionConfig.__init__` keyword defaults (note: hidden_size 3584, tokens_per_second 4 and
 *   fullatt_block_indexes [7, 15, 23, 31] are the class defaults; the published 3B/7B files override some of them);
 * - `Qwen2_5_VLTextConfig.__init__` keyword defaults, `num_key_value_heads=None -> num_attention_heads`,
 *   `sliding_window` kept only when `use_sliding_window` (layers from `max_window_layers` on then slide), an M-RoPE
 *   `type: "mrope"` rewritten to `"default"`;
 * - `Qwen2_5_VLConfig.__init__`: a nested `text_config` dict builds the text config; without one, the top-level
 *   keyword arguments do ("for BC use all kwargs to init TextConfig"); the four vision token ids default at the top.
 *
 * A Python keyword default applies only when the key is absent: an explicit `null` stays `null` (and zod then names
 * the field), except where transformers itself maps `None` to something (num_key_value_heads, rope_scaling).
 */

type Json = Record<string, unknown>;

/** `Qwen2_5_VLVisionConfig` keyword defaults. `in_chans` is not one of them: transformers stores it as an extra. */
export const HF_VISION_DEFAULTS: Readonly<Json> = {
  depth: 32,
  hidden_size: 3584,
  hidden_act: "silu",
  intermediate_size: 3420,
  num_heads: 16,
  in_channels: 3,
  patch_size: 14,
  spatial_merge_size: 2,
  temporal_patch_size: 2,
  tokens_per_second: 4,
  window_size: 112,
  out_hidden_size: 3584,
  fullatt_block_indexes: [7, 15, 23, 31],
  initializer_range: 0.02,
};

/** `Qwen2_5_VLTextConfig` keyword defaults (rope_theta is read from kwargs with this default). */
export const HF_TEXT_DEFAULTS: Readonly<Json> = {
  vocab_size: 152064,
  hidden_size: 8192,
  intermediate_size: 29568,
  num_hidden_layers: 80,
  num_attention_heads: 64,
  num_key_value_heads: 8,
  hidden_act: "silu",
  max_position_embeddings: 32768,
  initializer_range: 0.02,
  rms_norm_eps: 1e-5,
  use_cache: true,
  tie_word_embeddings: false,
  use_sliding_window: false,
  sliding_window: 4096,
  max_window_layers: 80,
  attention_dropout: 0.0,
  rope_theta: 1000000.0,
};

/** `Qwen2_5_VLConfig` keyword defaults for the vision special tokens. */
export const HF_TOP_DEFAULTS: Readonly<Json> = {
  image_token_id: 151655,
  video_token_id: 151656,
  vision_start_token_id: 151652,
  vision_end_token_id: 151653,
};

/** The text fields transformers reads into the text config: in a nested file they live under `text_config`. */
export const HF_TEXT_FIELDS: ReadonlySet<string> = new Set([
  ...Object.keys(HF_TEXT_DEFAULTS),
  "rope_scaling",
  "layer_types",
]);

const isObject = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);

function withDefaults(given: Json, defaults: Readonly<Json>): Json {
  const out: Json = { ...given };
  for (const [k, v] of Object.entries(defaults)) {
    if (!(k in out)) out[k] = structuredClone(v);
  }
  return out;
}

/** The text config as `Qwen2_5_VLTextConfig(**given)` resolves it. */
function resolveText(given: Json): Json {
  const t = withDefaults(given, HF_TEXT_DEFAULTS);
  // "for backward compatibility": a null kv-head count means multi-head attention.
  if (t.num_key_value_heads === null) t.num_key_value_heads = t.num_attention_heads;
  // transformers keeps the window size only when sliding-window attention is switched on.
  if (t.use_sliding_window !== true) t.sliding_window = null;
  // layer_types is not materialised (transformers derives it from max_window_layers when absent): a resolved config
  // spread with another num_hidden_layers must not carry a stale list. config.ts checks the effective pattern.
  // M-RoPE is spelled `type: "mrope"` in the published files; transformers rewrites it to the default rope type and
  // keeps mrope_section (the 3-section split the model reads).
  if (isObject(t.rope_scaling)) {
    const rs: Json = { ...t.rope_scaling };
    const kind = rs.rope_type ?? rs.type ?? "default";
    rs.rope_type = kind === "mrope" ? "default" : kind;
    if ("type" in rs) rs.type = rs.rope_type;
    t.rope_scaling = rs;
  }
  return t;
}

/** Where a resolved field came from, so an error can name the path in the file (e.g. `text_config.hidden_size`). */
export interface ResolvedHfConfig {
  config: Json;
  nested: boolean;
}

/**
 * Resolve a `config.json` body (flat, or with a nested `text_config`) into one flat object: the text fields at the
 * top level (as the published flat files have them and as our model reads them), `vision_config` fully defaulted, and
 * every field the file carries that transformers does not know kept as it was.
 */
export function resolveHfConfig(raw: unknown): ResolvedHfConfig {
  if (!isObject(raw)) return { config: raw as Json, nested: false };
  const nested = isObject(raw.text_config);
  const top: Json = { ...raw };
  delete top.text_config;
  let text: Json;
  if (nested) {
    const given: Json = { ...raw.text_config as Json };
    // Tying is a PreTrainedConfig field that both levels carry; a sub-config that omits it follows the top level.
    if (!("tie_word_embeddings" in given) && "tie_word_embeddings" in top) {
      given.tie_word_embeddings = top.tie_word_embeddings;
    }
    text = resolveText(given);
    // The text sub-config's own identity fields (model_type "qwen2_5_vl_text", architectures) and its copies of
    // the vision token ids (`image_token_id: null`) give way to the top-level ones.
    for (const k of Object.keys(text)) {
      if (!HF_TEXT_FIELDS.has(k) && (k in top || k in HF_TOP_DEFAULTS || k === "vision_config")) delete text[k];
    }
    // Top-level copies of text fields in a nested file are ignored by transformers: the sub-config wins.
    for (const k of HF_TEXT_FIELDS) delete top[k];
  } else {
    const given: Json = {};
    for (const k of HF_TEXT_FIELDS) if (k in top) given[k] = top[k];
    text = resolveText(given);
  }
  const out: Json = withDefaults({ ...top, ...text }, HF_TOP_DEFAULTS);
  // PreTrainedConfig's special-token ids default to None: null and absent mean the same.
  for (const k of ["bos_token_id", "eos_token_id", "pad_token_id"]) if (out[k] === null) delete out[k];
  out.vision_config = isObject(raw.vision_config)
    ? withDefaults(raw.vision_config, HF_VISION_DEFAULTS)
    : "vision_config" in raw && raw.vision_config !== null
    ? raw.vision_config
    : structuredClone(HF_VISION_DEFAULTS);
  return { config: out, nested };
}
