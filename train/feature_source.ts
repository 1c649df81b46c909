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
import { chatTokens, CORRESPONDENCE_PROMPT, frameImage } from "./samples.ts";
import { type GpuHead, headForward } from "./heads.ts";

export interface ModelFeatureOptions {
  name: string;
  kind: "qk" | "heads";
  linearHook?: LinearHook;
  heads?: Map<number, GpuHead>;
}

export function modelFeatureSource(
  model: VlmModel,
  tok: TextTokenizer,
  o: ModelFeatureOptions,
): LayerFeatureSource {
  const c: VlmConfig = model.config;
  const layers = o.kind === "heads" ? [...(o.heads?.keys() ?? [])].sort((a, b) => a - b) : [
    ...Array(c.num_hidden_layers).keys(),
  ];
  return {
    name: o.name,
    numLayers: layers.length,
    features: (seq: CorrespondenceSequence) =>
      tidyAsync(async (): Promise<LayerFeatures> => {
        const images = seq.frames.map((f) => frameImage(c, f.rgb, f.width, f.height));
        const { inputIds } = chatTokens(c, tok, images, CORRESPONDENCE_PROMPT, null);
        const out = noGrad(() =>
          model.forward({ inputIds, images }, {
            capture: o.kind === "qk" ? { qk: "pre" } : { hidden: true },
            linearHook: o.linearHook,
            logits: false,
          })
        );
        const F = seq.frames.length, P = seq.grid.rows * seq.grid.cols;
        if (o.kind === "qk") {
          const qk = [];
          for (const l of out.layers) qk.push({ q: await l.qPre!.toArray(), k: await l.kPre!.toArray() });
          return qkLayerFeatures(qk, {
            frames: F,
            patches: P,
            qHeads: c.num_attention_heads,
            kvHeads: c.num_key_value_heads,
            headDim: headDim(c),
          });
        }
        const q: Float32Array[] = [];
        let dim = 0;
        for (const l of layers) {
          const e = noGrad(() => headForward(o.heads!.get(l)!, out.layers[l].hidden!)); // (F·P, o)
          dim = e.shape[1];
          q.push(await e.toArray());
        }
        return { q, k: q, dim, confidence: { kind: "cosine", temperature: DEFAULT_COSINE_TEMPERATURE } };
      }),
  };
}
