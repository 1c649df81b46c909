/**
 * App. C features of a model (LayerFeatureSource): per LLM layer, for the visual tokens of each sequence,
 *   "Q/K":             the queries and keys before RoPE (q_proj(input_layernorm(x)), the content part of Q_V K_Vᵀ;
 *                      RoPE only adds the position term), head-averaged, attention-softmax confidence;
 *   "head embeddings": optionally, embeddings E = H_c(V^(l)) (Eq 4) of the layer's hidden states by a caller-given
 *                      head (training passes its correspondence heads), as both query and key, cosine confidence.
 * Frames enter as separate images with the multi-frame prompt (core/model/processing.ts), exactly as in training.
 * Any model works: a run under training (train/pipeline.ts), or a model folder, export, run or step checkpoint
 * loaded from disk (core/analysis/load_model_features.ts, what `deno task eval --model` uses).
 */
import { noGrad, type Tensor, tidyAsync } from "../runtime.ts";
import { headDim, type VlmConfig } from "../model/config.ts";
import type { LinearHook, VlmModel } from "../model/vlm.ts";
import type { LayerFeatures, LayerFeatureSource } from "./features.ts";
import { DEFAULT_COSINE_TEMPERATURE } from "./features.ts";
import { qkLayerFeatures } from "./qk_features.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import type { CorrespondenceSequence } from "../scene/types.ts";
import { encodePrompt, imagesThenText, SCENE_FRAMES_PROMPT } from "../model/processing.ts";

/** Per-layer embeddings of hidden states, e.g. GASP's correspondence heads. */
export interface LayerEmbedder {
  /** LLM layers that have one, ascending. */
  layers: number[];
  /** (N, d) hidden states of layer `layer`'s visual tokens → (N, o) embeddings. */
  embed: (layer: number, hidden: Tensor) => Tensor;
}

export interface ModelFeatureOptions {
  /** Name prefix shown in reports ("base", "full", …). */
  name: string;
  linearHook?: LinearHook;
  /** With heads, a second source ("… head embeddings") shares each sequence's forward pass with the Q/K source. */
  heads?: LayerEmbedder;
}

/** The Q/K source (App. C) and, when heads are given, the head-embedding source; one forward per sequence. */
export function modelFeatureSources(model: VlmModel, tok: TextTokenizer, o: ModelFeatureOptions): LayerFeatureSource[] {
  const c: VlmConfig = model.config;
  const headLayers = o.heads?.layers ?? [];
  let cached: { id: string; qk: LayerFeatures; heads: LayerFeatures | null } | null = null;
  const run = (seq: CorrespondenceSequence) =>
    tidyAsync(async () => {
      const frames = seq.frames.map((f) => ({ width: f.width, height: f.height, data: f.rgb }));
      const { inputIds, images } = encodePrompt(c, tok, imagesThenText(frames, SCENE_FRAMES_PROMPT));
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
          const e = noGrad(() => o.heads!.embed(l, out.layers[l].hidden!)); // (F·P, o)
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
