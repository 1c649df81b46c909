/**
 * App. C features of a model (LayerFeatureSource): per LLM layer, for the visual tokens of each sequence,
 *   "Q/K":             the queries and keys before RoPE (q_proj(input_layernorm(x)), the content part of Q_V K_Vᵀ;
 *                      RoPE only adds the position term), head-averaged, attention-softmax confidence;
 *   "Q/K centred":     the same with each sequence's mean visual query (and key) subtracted, cosine confidence:
 *                      visual q and k of the backbone are nearly one shared vector (issue 13), which makes the raw
 *                      cosine argmax collapse onto a few keys; centring reads out what varies between tokens;
 *   "head embeddings": optionally, embeddings E = H_c(V^(l)) (Eq 4) of the layer's hidden states by a caller-given
 *                      head (training passes its correspondence heads), as both query and key, cosine confidence;
 *   "hidden states":   optionally, the hidden states V^(l) themselves (each block's output at the visual tokens),
 *                      cosine: what the heads read, with no head. A head that scores below its own input has
 *                      learnt nothing a cosine could not already read; a backbone whose V^(l) scores higher after
 *                      training than the sft-general control's has been changed by the geometric loss.
 * With `attention`, the Q/K source also carries the layer scalars of attention_stats.ts (own-frame and frame-0
 * attention shares, attention on the true match, Q/K collapse), from the same forward pass.
 * `visionFeatureSource` is the vision tower's output tokens (the LLM's input; no LLM layer), cosine.
 * Frames enter as separate images with the multi-frame prompt (core/model/processing.ts), exactly as in training.
 * Any model works: a run under training (train/pipeline.ts), or a model folder, export, run or step checkpoint
 * loaded from disk (core/analysis/load_model_features.ts, what `deno task eval --model` uses).
 */
import { noGrad, type Tensor, tidyAsync } from "../runtime.ts";
import { concatPixelValues } from "../model/visual_spans.ts";
import { VlmKvCache } from "../model/vlm.ts";
import { attentionStats, centreRows, type LayerScalars, meanNormRatio } from "./attention_stats.ts";
import { VISION_SOURCE } from "./baselines.ts";
import { headDim, type VlmConfig } from "../model/config.ts";
import type { LinearHook, VlmModel } from "../model/vlm.ts";
import type { LayerFeatures, LayerFeatureSource } from "./features.ts";
import { DEFAULT_COSINE_TEMPERATURE } from "./features.ts";
import { qkLayerFeatures } from "./qk_features.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import type { CorrespondenceSequence } from "../scene/types.ts";
import { ShapeMismatchError } from "../errors.ts";
import { encodePrompt, imagesThenText, SCENE_FRAMES_PROMPT } from "../model/processing.ts";

/**
 * What a correspondence head embeds of its layer: "block", the layer's output hidden states V^(l) (Eq 4); or
 * "attention", the attention sublayer's output o_proj(attention) alone, before the residual add (issue 13 item 6:
 * the residual stream carries the input features, so a head on V^(l) can match without the attention changing).
 */
export type HeadInput = "block" | "attention";

/** Per-layer embeddings of hidden states, e.g. GASP's correspondence heads. */
export interface LayerEmbedder {
  /** LLM layers that have one, ascending. */
  layers: number[];
  /** What `embed` takes of each layer (default "block": the output hidden states). */
  input?: HeadInput;
  /** (N, d) hidden states of layer `layer`'s visual tokens → (N, o) embeddings. */
  embed: (layer: number, hidden: Tensor) => Tensor;
}

/** What {@linkcode modelFeatureSources} reads out of a model besides its Q/K. */
export interface ModelFeatureOptions {
  /** Name prefix shown in reports ("base", "full", …). */
  name: string;
  /** Passed to every forward (a run's LoRA without dropout: TrainResult.evalHook). */
  linearHook?: LinearHook;
  /** With heads, a source "… head embeddings" shares each sequence's forward pass with the Q/K source. */
  heads?: LayerEmbedder;
  /** Add the mean-centred Q/K source "… Q/K centred" (default true). */
  centred?: boolean;
  /** Add the source "… hidden states": every layer's V^(l) at the visual tokens, cosine (default false). */
  hidden?: boolean;
  /** Attach attention_stats.ts scalars to the Q/K source (a CPU pass over the attention; default false). */
  attention?: boolean;
}

/**
 * The Q/K source (App. C), the centred Q/K source and, when heads are given, the head-embedding source; one forward
 * per sequence serves them all.
 */
export function modelFeatureSources(model: VlmModel, tok: TextTokenizer, o: ModelFeatureOptions): LayerFeatureSource[] {
  const c: VlmConfig = model.config;
  const headLayers = o.heads?.layers ?? [];
  const headInput: HeadInput = o.heads?.input ?? "block";
  const D = headDim(c);
  let cached: {
    id: string;
    qk: LayerFeatures;
    centred: LayerFeatures;
    heads: LayerFeatures | null;
    hidden: LayerFeatures | null;
  } | null = null;
  const run = (seq: CorrespondenceSequence) =>
    tidyAsync(async () => {
      const frames = seq.frames.map((f) => ({ width: f.width, height: f.height, data: f.rgb }));
      const { inputIds, images } = encodePrompt(c, tok, imagesThenText(frames, SCENE_FRAMES_PROMPT));
      // The attention statistics need every token's post-RoPE key: a KV cache collects them.
      const cache = o.attention ? new VlmKvCache() : undefined;
      try {
        const out = noGrad(() =>
          model.forward({ inputIds, images }, {
            capture: {
              qk: o.attention ? "both" : "pre",
              hidden: (headLayers.length > 0 && headInput === "block") || (o.hidden ?? false),
              attn: headLayers.length > 0 && headInput === "attention",
            },
            linearHook: o.linearHook,
            logits: false,
            cache,
          })
        );
        const F = seq.frames.length, P = seq.grid.rows * seq.grid.cols;
        if (out.visualPositions.length !== F * P) {
          throw new ShapeMismatchError(
            "modelFeatureSources",
            `${out.visualPositions.length} visual tokens for ${F} frames of ${P} patches (frames must be 28·N px)`,
          );
        }
        const qkRaw = [];
        for (const l of out.layers) qkRaw.push({ q: await l.qPre!.toArray(), k: await l.kPre!.toArray() });
        const qk = qkLayerFeatures(qkRaw, {
          frames: F,
          patches: P,
          qHeads: c.num_attention_heads,
          kvHeads: c.num_key_value_heads,
          headDim: D,
        });
        const scalars: LayerScalars = {
          qMeanNormRatio: { perLayer: qk.q.map((x) => meanNormRatio(x, F * P, D)), weight: 1 },
          kMeanNormRatio: { perLayer: qk.k.map((x) => meanNormRatio(x, F * P, D)), weight: 1 },
        };
        if (cache) {
          const att = [];
          for (const [l, feats] of out.layers.entries()) {
            att.push({ q: await feats.qPost!.toArray(), k: await cache.keys[l].toArray() });
          }
          Object.assign(
            scalars,
            attentionStats(att, {
              tokens: inputIds.length,
              qHeads: c.num_attention_heads,
              kvHeads: c.num_key_value_heads,
              headDim: D,
              visualPositions: out.visualPositions,
            }, seq),
          );
        }
        qk.scalars = scalars;
        const centred: LayerFeatures = {
          q: qk.q.map((x) => centreRows(x, F * P, D)),
          k: qk.k.map((x) => centreRows(x, F * P, D)),
          dim: D,
          confidence: { kind: "cosine", temperature: DEFAULT_COSINE_TEMPERATURE },
        };
        let heads: LayerFeatures | null = null;
        if (headLayers.length) {
          const q: Float32Array[] = [];
          let dim = 0;
          for (const l of headLayers) {
            const x = headInput === "attention" ? out.layers[l].attn! : out.layers[l].hidden!; // (F·P, d)
            const e = noGrad(() => o.heads!.embed(l, x)); // (F·P, o)
            dim = e.shape[1];
            q.push(await e.toArray());
          }
          heads = { q, k: q, dim, confidence: { kind: "cosine", temperature: DEFAULT_COSINE_TEMPERATURE } };
        }
        let hidden: LayerFeatures | null = null;
        if (o.hidden) {
          const q: Float32Array[] = [];
          for (const l of out.layers) q.push(await l.hidden!.toArray()); // (F·P, d), a fresh readback
          hidden = {
            q,
            k: q,
            dim: c.hidden_size,
            confidence: { kind: "cosine", temperature: DEFAULT_COSINE_TEMPERATURE },
          };
        }
        return { id: seq.id, qk, centred, heads, hidden };
      } finally {
        cache?.dispose();
      }
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
  if (o.centred ?? true) {
    sources.push({
      name: `${o.name} Q/K centred`,
      numLayers: c.num_hidden_layers,
      features: async (seq) => (await get(seq)).centred,
    });
  }
  if (headLayers.length) {
    sources.push({
      name: `${o.name} head embeddings`,
      numLayers: headLayers.length,
      features: async (seq) => (await get(seq)).heads!,
    });
  }
  if (o.hidden) {
    sources.push({
      name: `${o.name} hidden states`,
      numLayers: c.num_hidden_layers,
      features: async (seq) => (await get(seq)).hidden!,
    });
  }
  return sources;
}

/**
 * The vision tower's output tokens (after the 2 × 2 merger: the LLM's input embeddings of the visual tokens) as a
 * one-layer source, cosine: what the correspondence read-outs would score with no LLM layer at all.
 */
export function visionFeatureSource(model: VlmModel, tok: TextTokenizer, name = VISION_SOURCE): LayerFeatureSource {
  const c = model.config;
  return {
    name,
    numLayers: 1,
    features: (seq) =>
      tidyAsync(async () => {
        const frames = seq.frames.map((f) => ({ width: f.width, height: f.height, data: f.rgb }));
        const { images } = encodePrompt(c, tok, imagesThenText(frames, SCENE_FRAMES_PROMPT));
        const v = noGrad(() => model.vision(concatPixelValues(images), images.map((i) => i.gridThw))); // (F·P, C)
        const P = seq.grid.rows * seq.grid.cols;
        if (v.shape[0] !== seq.frames.length * P) {
          throw new ShapeMismatchError("visionFeatureSource", `${v.shape[0]} tokens for ${seq.frames.length}×${P}`);
        }
        const x = Float32Array.from(await v.toArray());
        return {
          q: [x],
          k: [x],
          dim: v.shape[1],
          confidence: { kind: "cosine" as const, temperature: DEFAULT_COSINE_TEMPERATURE },
        };
      }),
  };
}
