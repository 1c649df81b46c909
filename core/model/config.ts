/**
 * The VLM config: Hugging Face `config.json` field names of Qwen2.5-VL, validated with zod. A file as published
 * (flat, like Qwen/Qwen2.5-VL-7B-Instruct, or with the nested `text_config` newer transformers writes) first gets
 * transformers' class defaults (core/model/hf_defaults.ts), then is checked here; the result is flat (text fields at
 * the top level). Unknown HF fields pass through untouched; a wrong type or an inconsistent shape raises ConfigError
 * naming the field path as it is in the file.
 *
 * `TINY_CONFIG` is the embedded default: the same architecture, small enough to train on llvmpipe in minutes.
 */
import { z } from "zod";
import { ConfigError } from "../errors.ts";
import { HF_TEXT_FIELDS, resolveHfConfig } from "./hf_defaults.ts";

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();

export const VisionConfigSchema = z.looseObject({
  depth: posInt,
  hidden_size: posInt,
  intermediate_size: posInt,
  num_heads: posInt,
  patch_size: posInt,
  spatial_merge_size: posInt,
  temporal_patch_size: posInt,
  window_size: posInt,
  fullatt_block_indexes: z.array(nonNegInt),
  out_hidden_size: posInt,
  // transformers' patch embedding reads in_channels; a file's `in_chans` is kept as an unused extra, as there.
  in_channels: posInt,
  hidden_act: z.literal("silu"),
  tokens_per_second: z.number().positive(),
  initializer_range: z.number().nonnegative(),
});

export const RopeScalingSchema = z.looseObject({
  type: z.string().optional(),
  rope_type: z.string().optional(),
  mrope_section: z.array(posInt).length(3),
});

export const VlmConfigSchema = z.looseObject({
  model_type: z.string().default("qwen2_5_vl"),
  hidden_size: posInt,
  intermediate_size: posInt,
  num_hidden_layers: posInt,
  num_attention_heads: posInt,
  num_key_value_heads: posInt,
  rms_norm_eps: z.number().positive(),
  rope_theta: z.number().positive(),
  rope_scaling: RopeScalingSchema,
  vocab_size: posInt,
  tie_word_embeddings: z.boolean(),
  hidden_act: z.literal("silu"),
  max_position_embeddings: posInt,
  initializer_range: z.number().nonnegative(),
  use_cache: z.boolean(),
  use_sliding_window: z.boolean(),
  sliding_window: posInt.nullable(),
  max_window_layers: nonNegInt,
  attention_dropout: z.number().nonnegative(),
  layer_types: z.array(z.enum(["full_attention", "sliding_attention"])).optional(),
  image_token_id: nonNegInt,
  video_token_id: nonNegInt,
  vision_start_token_id: nonNegInt,
  vision_end_token_id: nonNegInt,
  // PreTrainedConfig fields; a null in the file is treated as absent (hf_defaults.ts).
  bos_token_id: nonNegInt.optional(),
  eos_token_id: z.union([nonNegInt, z.array(nonNegInt)]).optional(),
  vision_config: VisionConfigSchema,
  // GASP-TS extension (transformers ignores it): how the M-RoPE ids of a prompt's successive images are laid out
  // (core/model/rope_index.ts). Absent = "images", Qwen's own rule; "video" = one video (issue 13 item 6).
  frame_positions: z.enum(["images", "video"]).optional(),
});

/** The vision tower's config: config.json's `vision_config`, HF field names (the schema above checks each). */
export interface VisionConfig {
  /** Vision transformer blocks. */
  depth: number;
  /** Vision hidden width. */
  hidden_size: number;
  /** Vision MLP width. */
  intermediate_size: number;
  /** Vision attention heads. */
  num_heads: number;
  /** Patch side in pixels. */
  patch_size: number;
  /** Patches merged per side into one LLM token. */
  spatial_merge_size: number;
  /** Frames per temporal patch. */
  temporal_patch_size: number;
  /** Window-attention window side in pixels. */
  window_size: number;
  /** Blocks with full (not windowed) attention. */
  fullatt_block_indexes: number[];
  /** Width of the merger's output (the LLM hidden size). */
  out_hidden_size: number;
  /** Image channels the patch embedding reads. */
  in_channels: number;
  /** MLP activation (only "silu"). */
  hidden_act: "silu";
  /** M-RoPE temporal positions per second of video. */
  tokens_per_second: number;
  /** Std of the initial weights. */
  initializer_range: number;
  /** Unknown HF fields, kept untouched. */
  [field: string]: unknown;
}

/** config.json's `rope_scaling`: the M-RoPE section split of the head dimension. */
export interface RopeScaling {
  /** Legacy name of rope_type. */
  type?: string;
  /** "mrope" (or "default") in published files. */
  rope_type?: string;
  /** Temporal, height and width sections (half-dims), summing to head_dim / 2. */
  mrope_section: number[];
  /** Unknown HF fields, kept untouched. */
  [field: string]: unknown;
}

/** A Qwen2.5-VL config, flat (text fields at the top level), HF field names, unknown HF fields kept. */
export interface VlmConfig {
  /** "qwen2_5_vl". */
  model_type: string;
  /** LLM hidden width. */
  hidden_size: number;
  /** LLM MLP width. */
  intermediate_size: number;
  /** LLM decoder layers. */
  num_hidden_layers: number;
  /** Query heads. */
  num_attention_heads: number;
  /** Key/value heads (GQA). */
  num_key_value_heads: number;
  /** RMSNorm epsilon. */
  rms_norm_eps: number;
  /** RoPE base. */
  rope_theta: number;
  /** M-RoPE sections. */
  rope_scaling: RopeScaling;
  /** Vocabulary size. */
  vocab_size: number;
  /** lm_head shares the embedding matrix. */
  tie_word_embeddings: boolean;
  /** MLP activation (only "silu"). */
  hidden_act: "silu";
  /** Longest position the model was trained for. */
  max_position_embeddings: number;
  /** Std of the initial weights. */
  initializer_range: number;
  /**
   * How several frames take M-RoPE positions (our field, absent in HF files): "images" (default) gives each frame
   * its own temporal index and h/w offsets; "video" shares the first frame's h/w ids, one temporal index per frame.
   */
  frame_positions?: "images" | "video";
  /** Generation keeps a KV cache. */
  use_cache: boolean;
  /** Sliding-window attention on (Qwen2.5-VL ships false). */
  use_sliding_window: boolean;
  /** Sliding window length, or null. */
  sliding_window: number | null;
  /** Layers below this use full attention when sliding is on. */
  max_window_layers: number;
  /** Attention dropout probability. */
  attention_dropout: number;
  /** Per-layer attention kind (newer transformers). */
  layer_types?: ("full_attention" | "sliding_attention")[];
  /** Token id of an image placeholder. */
  image_token_id: number;
  /** Token id of a video placeholder. */
  video_token_id: number;
  /** Token id of <|vision_start|>. */
  vision_start_token_id: number;
  /** Token id of <|vision_end|>. */
  vision_end_token_id: number;
  /** Beginning-of-sequence token id. */
  bos_token_id?: number;
  /** End-of-sequence token id(s). */
  eos_token_id?: number | number[];
  /** The vision tower. */
  vision_config: VisionConfig;
  /** Unknown HF fields, kept untouched. */
  [field: string]: unknown;
}

/** Compile-time proof that the interfaces above and the schemas describe the same objects (neither can drift). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const _visionMatches: Same<z.infer<typeof VisionConfigSchema>, VisionConfig> = true;
const _ropeMatches: Same<z.infer<typeof RopeScalingSchema>, RopeScaling> = true;
const _vlmMatches: Same<z.infer<typeof VlmConfigSchema>, VlmConfig> = true;
void [_visionMatches, _ropeMatches, _vlmMatches];

/**
 * Parse and check a config (an HF config.json object, flat or nested); throws ConfigError naming the first bad field
 * path. Parsing a resolved config again gives the same config.
 */
export function parseVlmConfig(raw: unknown): VlmConfig {
  const { config, nested } = resolveHfConfig(raw);
  // A text field of a nested file is named where it is in the file.
  const where = (field: string) => nested && HF_TEXT_FIELDS.has(field.split(".")[0]) ? `text_config.${field}` : field;
  const r = VlmConfigSchema.safeParse(config);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue.path.map(String).join(".") || "(root)";
    throw new ConfigError(`field ${where(path)}`, issue.message);
  }
  const c = r.data;
  const check = (ok: boolean, field: string, detail: string) => {
    if (!ok) throw new ConfigError(`field ${where(field)}`, detail);
  };
  check(c.hidden_size % c.num_attention_heads === 0, "hidden_size", "must be divisible by num_attention_heads");
  check(
    c.num_attention_heads % c.num_key_value_heads === 0,
    "num_key_value_heads",
    `must divide num_attention_heads = ${c.num_attention_heads} (grouped-query attention), got ${c.num_key_value_heads}`,
  );
  if (c.layer_types) {
    check(
      c.layer_types.length === c.num_hidden_layers,
      "layer_types",
      `needs one entry per layer (num_hidden_layers = ${c.num_hidden_layers}), got ${c.layer_types.length}`,
    );
  }
  // transformers: layer i slides when sliding_window is set (use_sliding_window) and i >= max_window_layers.
  const slides = c.layer_types
    ? c.layer_types.some((t) => t !== "full_attention")
    : c.sliding_window !== null && c.num_hidden_layers > c.max_window_layers;
  check(
    !slides,
    c.layer_types ? "layer_types" : "use_sliding_window",
    "sliding-window LLM attention (use_sliding_window with layers past max_window_layers) is not implemented",
  );
  const hd = headDim(c);
  const ms = c.rope_scaling.mrope_section;
  check(
    ms[0] + ms[1] + ms[2] === hd / 2,
    "rope_scaling.mrope_section",
    `sections must sum to head_dim/2 = ${hd / 2}, got ${ms.join("+")}`,
  );
  const v = c.vision_config;
  check(v.hidden_size % v.num_heads === 0, "vision_config.hidden_size", "must be divisible by vision_config.num_heads");
  check(
    (v.hidden_size / v.num_heads) % 4 === 0,
    "vision_config.num_heads",
    "vision head dim must be divisible by 4 (2-D rotary over h and w)",
  );
  check(
    v.window_size % (v.patch_size * v.spatial_merge_size) === 0,
    "vision_config.window_size",
    `must be a multiple of patch_size*spatial_merge_size = ${v.patch_size * v.spatial_merge_size}`,
  );
  for (const [i, b] of v.fullatt_block_indexes.entries()) {
    check(b < v.depth, `vision_config.fullatt_block_indexes.${i}`, `block ${b} >= depth ${v.depth}`);
  }
  for (const f of ["image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id"] as const) {
    check(c[f] < c.vocab_size, f, `id ${c[f]} >= vocab_size ${c.vocab_size}`);
  }
  return c;
}

/** Per-head width of the LLM attention. */
export function headDim(c: VlmConfig): number {
  return c.hidden_size / c.num_attention_heads;
}

/** Per-head width of the vision attention. */
export function visionHeadDim(c: VlmConfig): number {
  return c.vision_config.hidden_size / c.vision_config.num_heads;
}

/** Input channels of the patch embedding (transformers reads `in_channels`; a file's `in_chans` is an extra). */
export function inChannels(c: VlmConfig): number {
  return c.vision_config.in_channels;
}

/**
 * Token ids of the tiny tokenizer (core/text/build_tokenizer.ts): 600 trained byte-level BPE tokens, then Qwen's 14
 * special tokens in Qwen's own order, so every special sits at the same offset from the first one as in Qwen.
 */
export const TINY_BPE_SIZE = 600;
export const TINY_SPECIAL_TOKENS = [
  "<|endoftext|>",
  "<|im_start|>",
  "<|im_end|>",
  "<|object_ref_start|>",
  "<|object_ref_end|>",
  "<|box_start|>",
  "<|box_end|>",
  "<|quad_start|>",
  "<|quad_end|>",
  "<|vision_start|>",
  "<|vision_end|>",
  "<|vision_pad|>",
  "<|image_pad|>",
  "<|video_pad|>",
] as const;

export function tinySpecialId(token: (typeof TINY_SPECIAL_TOKENS)[number]): number {
  return TINY_BPE_SIZE + TINY_SPECIAL_TOKENS.indexOf(token);
}

/** The embedded default: Qwen2.5-VL architecture at a size that trains on a software GPU in minutes. */
export const TINY_CONFIG: VlmConfig = parseVlmConfig({
  architectures: ["Qwen2_5_VLForConditionalGeneration"],
  model_type: "qwen2_5_vl",
  // 128 wide, 4 heads of 32: the smallest width where 4 heads still have a head dim big enough for 3 M-RoPE sections.
  hidden_size: 128,
  // 2x width for SwiGLU (Qwen uses ~5.3x); enough capacity for the QA vocabulary, half the FLOPs of 4x.
  intermediate_size: 256,
  // 4 layers: GASP reads per-layer features, so there must be early, middle and late layers to compare.
  num_hidden_layers: 4,
  num_attention_heads: 4,
  // 2 KV heads for 4 query heads: keeps grouped-query attention (Qwen 7B: 28 q / 4 kv) exercised with rep 2.
  num_key_value_heads: 2,
  // Same eps and theta as Qwen2.5-VL-7B so numerics match the real model's regime.
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  // Qwen splits head_dim/2 = 64 as 16/24/24 (t/h/w); scaled by 1/4 to head_dim/2 = 16.
  rope_scaling: { type: "mrope", mrope_section: [4, 6, 6] },
  // 600 BPE + 14 specials = 614 used; padded to a multiple of 64 like Qwen pads 151665 -> 152064.
  vocab_size: 640,
  // Untied like Qwen2.5-VL-7B so lm_head.weight exists and its export path is tested.
  tie_word_embeddings: false,
  hidden_act: "silu",
  bos_token_id: tinySpecialId("<|endoftext|>"),
  eos_token_id: tinySpecialId("<|im_end|>"),
  image_token_id: tinySpecialId("<|image_pad|>"),
  video_token_id: tinySpecialId("<|video_pad|>"),
  vision_start_token_id: tinySpecialId("<|vision_start|>"),
  vision_end_token_id: tinySpecialId("<|vision_end|>"),
  vision_config: {
    // 2 blocks: one windowed, one full attention (fullatt_block_indexes [1]) - both attention kinds exercised.
    depth: 2,
    hidden_size: 64,
    intermediate_size: 128,
    // 2 heads of 32: head dim divisible by 4 for the 2-D rotary (8 h-freqs, 8 w-freqs).
    num_heads: 2,
    // Patch geometry is Qwen's own (14 px, 2x2 merge, 2 frames) so preprocessing is byte-identical to Qwen's.
    patch_size: 14,
    spatial_merge_size: 2,
    temporal_patch_size: 2,
    // 56 px = 2x2 merged tokens per window: a 224^2 image (8x8 merged) splits into 16 windows, 28^2*k images pad.
    window_size: 56,
    fullatt_block_indexes: [1],
    out_hidden_size: 128,
    in_channels: 3,
    hidden_act: "silu",
    // Qwen2.5-VL-7B value: 2 temporal position steps per second of video.
    tokens_per_second: 2,
  },
});
