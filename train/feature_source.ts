/**
 * Held-out correspondence features of a model under training (core/analysis LayerFeatureSource), so tasks/train.ts
 * can print peak-layer PCK@2 before and after GASP through core/analysis (train/ never imports eval/).
 *   "qk":    App. C — per layer, the visual tokens' queries and keys before RoPE (q_proj(input_layernorm(x)), the
 *            content part of Q_V K_Vᵀ; RoPE only adds the position term), head-averaged, attention-softmax confidence.
 *   "heads": the correspondence head embeddings E = H_c(V^(l)) (Eq 4) as both query and key, cosine confidence.
 * Frames enter as separate images with the correspondence prompt (train/samples.ts), exactly as in training.
 */
import { noGrad, tidyAsync } from "../core/runtime.ts";
import { headDim, type VlmConfig } from "../core/model/config.ts";
import type { LinearHook, VlmModel } from "../core/model/vlm.ts";
import type { LayerFeatures, LayerFeatureSource } from "../core/analysis/features.ts";
import { DEFAULT_COSINE_TEMPERATURE } from "../core/analysis/features.ts";
import { qkLayerFeatures } from "../core/analysis/qk_features.ts";
import type { TextTokenizer } from "../core/text/tokenizer.ts";
import type { CorrespondenceSequence } from "../core/scene/types.ts";
import { encodePrompt, imagesThenText, SCENE_FRAMES_PROMPT } from "../core/model/processing.ts";
import { frameRgb } from "./samples.ts";
import { type CorrespondenceHead, headForward } from "./correspondence_head.ts";

export interface ModelFeatureOptions {
  /** Name prefix shown in reports ("base", "full", …). */
  name: string;
  linearHook?: LinearHook;
  /** With heads, a second source ("… head embeddings") shares each sequence's forward pass with the Q/K source. */
  heads?: Map<number, CorrespondenceHead>;
}

/** The Q/K source (App. C) and, when heads are given, the head-embedding source; one forward per sequence. */
export function modelFeatureSources(model: VlmModel, tok: TextTokenizer, o: ModelFeatureOptions): LayerFeatureSource[] {
  const c: VlmConfig = model.config;
  const headLayers = [...(o.heads?.keys() ?? [])].sort((a, b) => a - b);
  let cached: { id: string; qk: LayerFeatures; heads: LayerFeatures | null } | null = null;
  const run = (seq: CorrespondenceSequence) =>
    tidyAsync(async () => {
      const { inputIds, images } = encodePrompt(c, tok, imagesThenText(seq.frames.map(frameRgb), SCENE_FRAMES_PROMPT));
      const out = noGrad(() =>
        model.forward({ inputIds, images }, {
          capture: { qk: "pre", hidden: headLayers.length > 0 },
          linearHook: o.linearHook,
          logits: false,
        })
      );
      const F = seq.frames.length, P = seq.grid.rows * seq.grid.cols;
      const qkRaw = [];
      for (const l of out.layers) qkRaw.push({ q: await l.qPre!.toArray(), k: await l.kPre!.toArray() });
      const qk = qkLayerFeatures(qkRaw, {
        frames: F,
        patches: P,
        qHeads: c.num_attention_heads,
        kvHeads: c.num_key_value_heads,
        headDim: headDim(c),
      });
      let heads: LayerFeatures | null = null;
      if (headLayers.length) {
        const q: Float32Array[] = [];
        let dim = 0;
        for (const l of headLayers) {
          const e = noGrad(() => headForward(o.heads!.get(l)!, out.layers[l].hidden!)); // (F·P, o)
          dim = e.shape[1];
          q.push(await e.toArray());
        }
        heads = { q, k: q, dim, confidence: { kind: "cosine", temperature: DEFAULT_COSINE_TEMPERATURE } };
      }
      return { id: seq.id, qk, heads };
    });
  const get = async (seq: CorrespondenceSequence) => {
    if (cached?.id !== seq.id) cached = await run(seq);
    return cached;
  };
  const sources: LayerFeatureSource[] = [{
    name: `${o.name} Q/K`,
    numLayers: c.num_hidden_layers,
    features: async (seq) => (await get(seq)).qk,
  }];
  if (headLayers.length) {
    sources.push({
      name: `${o.name} head embeddings`,
      numLayers: headLayers.length,
      features: async (seq) => (await get(seq)).heads!,
    });
  }
  return sources;
}
