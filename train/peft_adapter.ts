/**
 * The LoRA adapter as PEFT writes it, so `PeftModel.from_pretrained(base, dir)` loads it:
 *   adapter_config.json        LoraConfig fields (peft_type LORA, r, lora_alpha, lora_dropout, target_modules, …)
 *   adapter_model.safetensors  base_model.model.<module path>.lora_A.weight (r, in) / .lora_B.weight (out, r)
 * with <module path> in the base checkpoint's key layout (core/model/hf_weights.ts): model.layers.{l}.self_attn.q_proj
 * for the original one, model.language_model.layers.{l}.self_attn.q_proj for transformers ≥ 4.52. The correspondence
 * heads are not part of the adapter (the exported model drops them): they go to heads.safetensors beside it.
 */
import type { NamedTensor } from "../core/io/safetensors.ts";
import { checkpointKey, type KeyLayout } from "../core/model/hf_weights.ts";
import type { TrainConfig } from "./config.ts";
import { LORA_TARGET_MODULES, VISION_LORA_MODULES } from "./lora.ts";

export const PEFT_FILES = {
  config: "adapter_config.json",
  weights: "adapter_model.safetensors",
  heads: "heads.safetensors",
} as const;

const PEFT_PREFIX = "base_model.model.";
const LORA_SUFFIX = /\.lora_[AB]\.weight$/;

/** True for our LoRA matrix names (…q_proj.lora_A.weight); everything else in a checkpoint's adapters is a head. */
export function isLoraName(name: string): boolean {
  return LORA_SUFFIX.test(name);
}

/** Our LoRA name → PEFT's saved key for a base of `layout`. */
export function peftKey(name: string, layout: KeyLayout): string {
  return PEFT_PREFIX + checkpointKey(name, layout);
}

/** adapter_config.json for a run's LoRA settings (PEFT LoraConfig field names and defaults). */
export function peftAdapterConfig(lora: TrainConfig["lora"], baseModel: string): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: lora.alpha,
    lora_dropout: lora.dropout,
    megatron_config: null,
    megatron_core: "megatron.core",
    modules_to_save: null,
    peft_type: "LORA",
    r: lora.rank,
    rank_pattern: {},
    revision: null,
    // Module names PEFT matches by suffix: the LLM's projections (q_proj, …) never match the vision tower's attention
    // (attn.qkv / attn.proj), which is listed only when lora.vision adapts it too.
    target_modules: [
      ...lora.targets.map((t) => LORA_TARGET_MODULES[t].split(".").pop()!),
      ...(lora.vision ? VISION_LORA_MODULES : []),
    ],
    task_type: "CAUSAL_LM",
    use_dora: false,
    use_rslora: false,
  };
}

/** Splits a checkpoint's trainable tensors into the PEFT adapter (PEFT keys) and the heads (our names). */
export function splitAdapters(
  adapters: Map<string, NamedTensor>,
  layout: KeyLayout,
): { lora: Map<string, NamedTensor>; heads: Map<string, NamedTensor> } {
  const lora = new Map<string, NamedTensor>(), heads = new Map<string, NamedTensor>();
  for (const [n, t] of adapters) {
    if (isLoraName(n)) lora.set(peftKey(n, layout), t);
    else heads.set(n, t);
  }
  return { lora, heads };
}
