/**
 * Parameter names and shapes of Qwen2.5-VL exactly as Hugging Face names them (original checkpoint layout:
 * `visual.*`, `model.*`, `lm_head.weight`), and a seeded random init for a config.
 * Linear weights are [out, in] like torch.nn.Linear; the patch embedding is the Conv3d weight [C_v, C, T, P, P].
 */
import { Rng } from "../random.ts";
import type { VlmConfig } from "./config.ts";
import { headDim, inChannels } from "./config.ts";

/** Model parameters as f32 arrays keyed by Hugging Face name (`model.layers.0.self_attn.q_proj.weight`, …). */
export type Weights = Map<string, Float32Array>;

/** Every parameter of the model in a fixed order (vision tower, merger, decoder, head), name -> shape. */
export function parameterShapes(c: VlmConfig): Map<string, number[]> {
  const s = new Map<string, number[]>();
  const v = c.vision_config;
  const Cv = v.hidden_size, Iv = v.intermediate_size, Cm = Cv * v.spatial_merge_size ** 2;
  s.set("visual.patch_embed.proj.weight", [Cv, inChannels(c), v.temporal_patch_size, v.patch_size, v.patch_size]);
  for (let i = 0; i < v.depth; i++) {
    const p = `visual.blocks.${i}.`;
    s.set(p + "norm1.weight", [Cv]);
    s.set(p + "norm2.weight", [Cv]);
    s.set(p + "attn.qkv.weight", [3 * Cv, Cv]);
    s.set(p + "attn.qkv.bias", [3 * Cv]);
    s.set(p + "attn.proj.weight", [Cv, Cv]);
    s.set(p + "attn.proj.bias", [Cv]);
    for (const m of ["gate_proj", "up_proj"]) {
      s.set(p + `mlp.${m}.weight`, [Iv, Cv]);
      s.set(p + `mlp.${m}.bias`, [Iv]);
    }
    s.set(p + "mlp.down_proj.weight", [Cv, Iv]);
    s.set(p + "mlp.down_proj.bias", [Cv]);
  }
  s.set("visual.merger.ln_q.weight", [Cv]);
  s.set("visual.merger.mlp.0.weight", [Cm, Cm]);
  s.set("visual.merger.mlp.0.bias", [Cm]);
  s.set("visual.merger.mlp.2.weight", [v.out_hidden_size, Cm]);
  s.set("visual.merger.mlp.2.bias", [v.out_hidden_size]);
  const H = c.hidden_size, I = c.intermediate_size, D = headDim(c);
  const kv = c.num_key_value_heads * D;
  s.set("model.embed_tokens.weight", [c.vocab_size, H]);
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}.`;
    s.set(p + "input_layernorm.weight", [H]);
    s.set(p + "self_attn.q_proj.weight", [c.num_attention_heads * D, H]);
    s.set(p + "self_attn.q_proj.bias", [c.num_attention_heads * D]);
    s.set(p + "self_attn.k_proj.weight", [kv, H]);
    s.set(p + "self_attn.k_proj.bias", [kv]);
    s.set(p + "self_attn.v_proj.weight", [kv, H]);
    s.set(p + "self_attn.v_proj.bias", [kv]);
    s.set(p + "self_attn.o_proj.weight", [H, c.num_attention_heads * D]);
    s.set(p + "post_attention_layernorm.weight", [H]);
    s.set(p + "mlp.gate_proj.weight", [I, H]);
    s.set(p + "mlp.up_proj.weight", [I, H]);
    s.set(p + "mlp.down_proj.weight", [H, I]);
  }
  s.set("model.norm.weight", [H]);
  if (!c.tie_word_embeddings) s.set("lm_head.weight", [c.vocab_size, H]);
  return s;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Seeded random parameters. Weights ~ N(0, 1/fan_in) so activations stay O(1) through the depth (parity tests then
 * compare O(1) logits, not ~0); biases ~ N(0, 0.02²) and norm gains 1 + N(0, 0.1²) so a dropped bias or gain shows.
 */
export function initParameters(c: VlmConfig, seed: number): Weights {
  const rng = new Rng(seed);
  const out: Weights = new Map();
  for (const [name, shape] of parameterShapes(c)) {
    const n = numel(shape);
    const a = new Float32Array(n);
    if (
      name.endsWith("norm1.weight") || name.endsWith("norm2.weight") || name.endsWith("layernorm.weight") ||
      name.endsWith("ln_q.weight") || name === "model.norm.weight"
    ) {
      for (let i = 0; i < n; i++) a[i] = 1 + 0.1 * rng.normal();
    } else if (name.endsWith(".bias")) {
      for (let i = 0; i < n; i++) a[i] = 0.02 * rng.normal();
    } else {
      const std = name === "model.embed_tokens.weight" ? 1 : 1 / Math.sqrt(n / shape[0]);
      for (let i = 0; i < n; i++) a[i] = std * rng.normal();
    }
    out.set(name, a);
  }
  return out;
}
