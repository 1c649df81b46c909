/**
 * The f64 reference forward of the whole Qwen2.5-VL model, by Hugging Face parameter names. The GPU forward and
 * the ONNX export are checked against it. One sequence (batch 1), no KV cache.
 *
 * Letters: N patches, U = N/4 merged tokens, Cv vision width, T tokens, H LLM width, Hq/Hkv heads, D head dim,
 * V vocab.
 *
 * Introspection (paper App. C): for every LLM layer l, rows of the visual tokens (all image/video pad positions, in
 * prompt order) of
 *   hidden    - the layer's OUTPUT hidden state (HF hidden_states[l + 1]),                      (Nv, H)
 *   qPreRope  - q_proj(input_layernorm(layer input)), before M-RoPE,                              (Nv, Hq, D)
 *   qPostRope - the same after M-RoPE (what enters q·k),                                          (Nv, Hq, D)
 *   kPreRope / kPostRope - likewise for keys,                                                     (Nv, Hkv, D)
 * with the visual spans [start, end) and each span's per-frame merged grid (t, h/2, w/2).
 */
import type { VlmConfig } from "../config.ts";
import { headDim, visionHeadDim } from "../config.ts";
import type { Weights } from "../init.ts";
import { applyRotary, attention, gelu, linear, rmsNorm, segmentIds, swiglu } from "./ops.ts";
import { getRopeIndex, type VisionGrid } from "../rope_index.ts";
import {
  type GridThw,
  inversePermutation,
  permuteUnits,
  visionCuSeqlens,
  visionRotaryCosSin,
  visionWindowIndex,
} from "../vision_windows.ts";
import { concatPixelValues, visualPositionsOf, type VisualSpan, visualSpans } from "../visual_spans.ts";

export type { VisualSpan };

export interface VisionItem extends VisionGrid {
  /** (grid_t·grid_h·grid_w, C·T·P·P) HF pixel_values of this image / video. */
  pixelValues: Float32Array;
}

export interface ReferenceInput {
  inputIds: number[];
  images?: VisionItem[];
  videos?: VisionItem[];
}

export interface LayerCapture {
  hidden: Float64Array;
  qPreRope: Float64Array;
  qPostRope: Float64Array;
  kPreRope: Float64Array;
  kPostRope: Float64Array;
}

export interface ReferenceOutput {
  /** (T, V) */
  logits: Float64Array;
  positionIds: [Int32Array, Int32Array, Int32Array];
  ropeDelta: number;
  visualSpans: VisualSpan[];
  /** Token positions of the visual tokens (concatenation of the spans). */
  visualPositions: Int32Array;
  /** Per LLM layer; rows follow visualPositions. */
  layers: LayerCapture[];
}

function get(w: Weights, name: string): Float32Array {
  const t = w.get(name);
  if (!t) throw new Error(`reference forward: missing parameter ${name}`);
  return t;
}

/** Layer `p`'s SwiGLU MLP by HF names (`${p}mlp.gate_proj.weight`, …), with the biases the vision blocks have. */
function mlp(w: Weights, p: string, x: Float64Array, n: number, inter: number, out: number, biased: boolean) {
  const proj = (name: string, kind: "weight" | "bias") => get(w, `${p}mlp.${name}_proj.${kind}`);
  const bias = biased ? { gate: proj("gate", "bias"), up: proj("up", "bias"), down: proj("down", "bias") } : undefined;
  return swiglu(x, n, proj("gate", "weight"), proj("up", "weight"), proj("down", "weight"), inter, out, bias);
}

/** Vision tower + merger for one or more grids -> (U, out_hidden_size), merged tokens in pixel_values order. */
export function visionForward(c: VlmConfig, w: Weights, pixelValues: Float32Array, grids: GridThw[]): Float64Array {
  const v = c.vision_config,
    Cv = v.hidden_size,
    Hv = v.num_heads,
    Dv = visionHeadDim(c),
    unit = v.spatial_merge_size ** 2;
  const N = grids.reduce((s, g) => s + g[0] * g[1] * g[2], 0);
  let x: Float64Array = linear(Float64Array.from(pixelValues), N, get(w, "visual.patch_embed.proj.weight"), Cv); // (N, Cv)
  const { windowIndex, cuWindowSeqlens } = visionWindowIndex(c, grids);
  x = permuteUnits(x, windowIndex, unit, Cv); // window order
  const rot = visionRotaryCosSin(c, grids);
  const cos = permuteUnits(rot.cos, windowIndex, unit, Dv), sin = permuteUnits(rot.sin, windowIndex, unit, Dv);
  const winSeg = segmentIds(cuWindowSeqlens), fullSeg = segmentIds(visionCuSeqlens(grids));
  for (let l = 0; l < v.depth; l++) {
    const p = `visual.blocks.${l}.`;
    const seg = v.fullatt_block_indexes.includes(l) ? fullSeg : winSeg;
    const xn = rmsNorm(x, get(w, p + "norm1.weight"), 1e-6);
    const qkv = linear(xn, N, get(w, p + "attn.qkv.weight"), 3 * Cv, get(w, p + "attn.qkv.bias")); // (N, 3Cv)
    const q = new Float64Array(N * Cv), k = new Float64Array(N * Cv), vv = new Float64Array(N * Cv);
    for (let i = 0; i < N; i++) {
      q.set(qkv.subarray(i * 3 * Cv, i * 3 * Cv + Cv), i * Cv); // (N, Hv, Dv)
      k.set(qkv.subarray(i * 3 * Cv + Cv, i * 3 * Cv + 2 * Cv), i * Cv);
      vv.set(qkv.subarray(i * 3 * Cv + 2 * Cv, i * 3 * Cv + 3 * Cv), i * Cv);
    }
    applyRotary(q, N, Hv, cos, sin);
    applyRotary(k, N, Hv, cos, sin);
    const a = attention(q, k, vv, N, Hv, Hv, (i, j) => seg[i] === seg[j]); // (N, Cv)
    const o = linear(a, N, get(w, p + "attn.proj.weight"), Cv, get(w, p + "attn.proj.bias"));
    for (let i = 0; i < x.length; i++) x[i] += o[i];
    const xn2 = rmsNorm(x, get(w, p + "norm2.weight"), 1e-6);
    const m = mlp(w, p, xn2, N, v.intermediate_size, Cv, true);
    for (let i = 0; i < x.length; i++) x[i] += m[i];
  }
  // merger: ln_q, view (U, 4Cv), Linear, GELU, Linear -> (U, out)
  const U = N / unit, Cm = Cv * unit;
  const xq = rmsNorm(x, get(w, "visual.merger.ln_q.weight"), 1e-6);
  const h1 = linear(xq, U, get(w, "visual.merger.mlp.0.weight"), Cm, get(w, "visual.merger.mlp.0.bias"));
  for (let i = 0; i < h1.length; i++) h1[i] = gelu(h1[i]);
  const out = linear(
    h1,
    U,
    get(w, "visual.merger.mlp.2.weight"),
    v.out_hidden_size,
    get(w, "visual.merger.mlp.2.bias"),
  );
  return permuteUnits(out, inversePermutation(windowIndex), 1, v.out_hidden_size);
}

/** M-RoPE cos/sin (T, D): dim j of each half uses the t, h or w id by mrope_section; inv_freq_j = θ^(-2j/D). */
export function mropeCosSin(c: VlmConfig, pos: [ArrayLike<number>, ArrayLike<number>, ArrayLike<number>]): {
  cos: Float64Array;
  sin: Float64Array;
} {
  const D = headDim(c), T = pos[0].length, [s0, s1] = c.rope_scaling.mrope_section;
  const cos = new Float64Array(T * D), sin = new Float64Array(T * D);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < D; i++) {
      const j = i % (D / 2);
      const axis = j < s0 ? 0 : j < s0 + s1 ? 1 : 2;
      const a = pos[axis][t] * Math.pow(c.rope_theta, (-2 * j) / D);
      cos[t * D + i] = Math.cos(a);
      sin[t * D + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}

/** Decoder over input embeddings (T, H) with M-RoPE ids; captures the rows in `capture` per layer. */
export function decoderForward(
  c: VlmConfig,
  w: Weights,
  embeds: Float64Array,
  positionIds: [ArrayLike<number>, ArrayLike<number>, ArrayLike<number>],
  capture: Int32Array = new Int32Array(0),
): { logits: Float64Array; layers: LayerCapture[] } {
  const H = c.hidden_size, D = headDim(c), Hq = c.num_attention_heads, Hkv = c.num_key_value_heads;
  const T = embeds.length / H, eps = c.rms_norm_eps;
  const { cos, sin } = mropeCosSin(c, positionIds);
  const rows = (x: Float64Array, width: number) => {
    const out = new Float64Array(capture.length * width);
    capture.forEach((r, i) => out.set(x.subarray(r * width, (r + 1) * width), i * width));
    return out;
  };
  let x: Float64Array = Float64Array.from(embeds);
  const layers: LayerCapture[] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    const xn = rmsNorm(x, get(w, p + "input_layernorm.weight"), eps);
    const q = linear(xn, T, get(w, p + "self_attn.q_proj.weight"), Hq * D, get(w, p + "self_attn.q_proj.bias"));
    const k = linear(xn, T, get(w, p + "self_attn.k_proj.weight"), Hkv * D, get(w, p + "self_attn.k_proj.bias"));
    const v = linear(xn, T, get(w, p + "self_attn.v_proj.weight"), Hkv * D, get(w, p + "self_attn.v_proj.bias"));
    const qPre = rows(q, Hq * D), kPre = rows(k, Hkv * D);
    applyRotary(q, T, Hq, cos, sin);
    applyRotary(k, T, Hkv, cos, sin);
    const qPost = rows(q, Hq * D), kPost = rows(k, Hkv * D);
    const a = attention(q, k, v, T, Hq, Hkv, (i, j) => j <= i); // (T, Hq·D)
    const o = linear(a, T, get(w, p + "self_attn.o_proj.weight"), H);
    for (let i = 0; i < x.length; i++) x[i] += o[i];
    const xn2 = rmsNorm(x, get(w, p + "post_attention_layernorm.weight"), eps);
    const m = mlp(w, p, xn2, T, c.intermediate_size, H, false);
    for (let i = 0; i < x.length; i++) x[i] += m[i];
    layers.push({ hidden: rows(x, H), qPreRope: qPre, qPostRope: qPost, kPreRope: kPre, kPostRope: kPost });
  }
  x = rmsNorm(x, get(w, "model.norm.weight"), eps);
  const head = c.tie_word_embeddings ? get(w, "model.embed_tokens.weight") : get(w, "lm_head.weight");
  return { logits: linear(x, T, head, c.vocab_size), layers };
}

/** Token embeddings with vision features written over the image / video pad positions (HF masked_scatter). */
export function mergeEmbeddings(
  c: VlmConfig,
  w: Weights,
  inputIds: number[],
  imageFeatures: Float64Array | null,
  videoFeatures: Float64Array | null,
): Float64Array {
  const H = c.hidden_size, E = get(w, "model.embed_tokens.weight");
  const x = new Float64Array(inputIds.length * H);
  let img = 0, vid = 0;
  inputIds.forEach((id, t) => {
    if (id === c.image_token_id && imageFeatures) x.set(imageFeatures.subarray(img * H, ++img * H), t * H);
    else if (id === c.video_token_id && videoFeatures) x.set(videoFeatures.subarray(vid * H, ++vid * H), t * H);
    else for (let i = 0; i < H; i++) x[t * H + i] = E[id * H + i];
  });
  if (imageFeatures && img * H !== imageFeatures.length) {
    throw new Error(`image features for ${imageFeatures.length / H} tokens but ${img} <|image_pad|> in the prompt`);
  }
  if (videoFeatures && vid * H !== videoFeatures.length) {
    throw new Error(`video features for ${videoFeatures.length / H} tokens but ${vid} <|video_pad|> in the prompt`);
  }
  return x;
}

/** Full model: vision tower on images and videos, embedding merge, M-RoPE ids, decoder; with introspection. */
export function referenceForward(c: VlmConfig, w: Weights, input: ReferenceInput): ReferenceOutput {
  const images = input.images ?? [], videos = input.videos ?? [];
  const imgF = images.length ? visionForward(c, w, concatPixelValues(images), images.map((i) => i.gridThw)) : null;
  const vidF = videos.length ? visionForward(c, w, concatPixelValues(videos), videos.map((i) => i.gridThw)) : null;
  const embeds = mergeEmbeddings(c, w, input.inputIds, imgF, vidF);
  const { positionIds, ropeDelta } = getRopeIndex(c, input.inputIds, images, videos);
  const spans = visualSpans(c, input.inputIds, images, videos);
  const visualPositions = visualPositionsOf(spans);
  const { logits, layers } = decoderForward(c, w, embeds, positionIds, visualPositions);
  return { logits, positionIds, ropeDelta, visualSpans: spans, visualPositions, layers };
}
