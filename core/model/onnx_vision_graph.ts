/**
 * vision.onnx: the Qwen2.5-VL vision tower + merger as a standard-opset graph, and the host-side index inputs it
 * takes. The data-dependent index math (window partition, per-frame full attention, 2-D rotary) is computed on the
 * host by `visionGraphInputs` (the same functions the f64 reference uses), so the graph itself is static.
 *
 * Inputs (N patches, U = N / M² merged tokens, K = C·T·P·P, Dv vision head dim):
 *   pixel_values           (N, K)  f32   HF pixel_values of one or more images/videos, concatenated
 *   window_index           (U)     i64   merge-unit permutation into window order (get_window_index)
 *   reverse_window_index   (U)     i64   its inverse (argsort)
 *   rotary_cos, rotary_sin (N, Dv) f32   2-D rotary tables, rows already in window order
 *   window_attention_bias  (N, N)  f32   0 inside a window, -1e9 across (window order), for windowed blocks
 *   full_attention_bias    (N, N)  f32   0 inside a frame, -1e9 across, for blocks in fullatt_block_indexes
 * Output:
 *   image_features (U, out_hidden_size) f32, merged tokens in pixel_values order (what the pad tokens receive).
 */
import { GraphBuilder } from "../onnx/graph_builder.ts";
import type { VlmConfig } from "./config.ts";
import { inChannels, visionHeadDim } from "./config.ts";
import { geluG, linearG, rmsNormG, rotaryG, swigluG } from "./onnx_layers.ts";
import type { Weights } from "./init.ts";
import { parameterShapes } from "./init.ts";
import {
  type GridThw,
  inversePermutation,
  permuteUnits,
  segmentBias,
  visionCuSeqlens,
  visionRotaryCosSin,
  visionWindowIndex,
} from "./vision_windows.ts";

export interface VisionGraphInputs {
  windowIndex: BigInt64Array;
  reverseWindowIndex: BigInt64Array;
  rotaryCos: Float32Array;
  rotarySin: Float32Array;
  windowAttentionBias: Float32Array;
  fullAttentionBias: Float32Array;
  numPatches: number;
}

/** Host-side index inputs of vision.onnx for these grids (in the order their pixel_values are concatenated). */
export function visionGraphInputs(c: VlmConfig, grids: GridThw[]): VisionGraphInputs {
  const { windowIndex, cuWindowSeqlens } = visionWindowIndex(c, grids);
  const unit = c.vision_config.spatial_merge_size ** 2, Dv = visionHeadDim(c);
  const rot = visionRotaryCosSin(c, grids);
  return {
    windowIndex: BigInt64Array.from(windowIndex, BigInt),
    reverseWindowIndex: BigInt64Array.from(inversePermutation(windowIndex), BigInt),
    rotaryCos: Float32Array.from(permuteUnits(rot.cos, windowIndex, unit, Dv)),
    rotarySin: Float32Array.from(permuteUnits(rot.sin, windowIndex, unit, Dv)),
    windowAttentionBias: segmentBias(cuWindowSeqlens),
    fullAttentionBias: segmentBias(visionCuSeqlens(grids)),
    numPatches: cuWindowSeqlens[cuWindowSeqlens.length - 1],
  };
}

export function buildVisionGraph(c: VlmConfig, weights: Weights): GraphBuilder {
  const v = c.vision_config,
    Cv = v.hidden_size,
    Hv = v.num_heads,
    Dv = visionHeadDim(c),
    unit = v.spatial_merge_size ** 2;
  const K = inChannels(c) * v.temporal_patch_size * v.patch_size ** 2;
  const g = new GraphBuilder("qwen2_5_vl_vision");
  for (const [name, shape] of parameterShapes(c)) {
    if (name.startsWith("visual.")) g.initializer(name, shape, weights.get(name)!);
  }
  const px = g.input("pixel_values", "float32", ["num_patches", K]);
  const wi = g.input("window_index", "int64", ["num_tokens"]);
  const rwi = g.input("reverse_window_index", "int64", ["num_tokens"]);
  const cos = g.input("rotary_cos", "float32", ["num_patches", Dv]);
  const sin = g.input("rotary_sin", "float32", ["num_patches", Dv]);
  const winBias = g.input("window_attention_bias", "float32", ["num_patches", "num_patches"]);
  const fullBias = g.input("full_attention_bias", "float32", ["num_patches", "num_patches"]);

  const wpe = g.node("Reshape", ["visual.patch_embed.proj.weight", g.constI64([Cv, K])]);
  let x = linearG(g, px, wpe); // (N, Cv)
  x = g.node("Reshape", [x, g.constI64([-1, unit, Cv])]);
  x = g.node("Gather", [x, wi], { axis: { i: 0 } });
  x = g.node("Reshape", [x, g.constI64([-1, Cv])]); // (N, Cv) window order
  const scale = g.constF([1 / Math.sqrt(Dv)]);
  for (let l = 0; l < v.depth; l++) {
    const p = `visual.blocks.${l}.`;
    const xn = rmsNormG(g, x, p + "norm1.weight", 1e-6);
    let qkv = linearG(g, xn, p + "attn.qkv.weight", p + "attn.qkv.bias"); // (N, 3Cv)
    qkv = g.node("Reshape", [qkv, g.constI64([-1, 3, Hv, Dv])]);
    qkv = g.node("Transpose", [qkv], { perm: { ints: [1, 2, 0, 3] } }); // (3, Hv, N, Dv)
    let [q, k, vv] = g.nodeN("Split", [qkv, g.constI64([1, 1, 1])], { axis: { i: 0 } }, 3); // (1, Hv, N, Dv)
    q = rotaryG(g, q, cos, sin, Dv);
    k = rotaryG(g, k, cos, sin, Dv);
    const kt = g.node("Transpose", [k], { perm: { ints: [0, 1, 3, 2] } });
    let s = g.node("Mul", [g.node("MatMul", [q, kt]), scale]); // (1, Hv, N, N)
    s = g.node("Add", [s, v.fullatt_block_indexes.includes(l) ? fullBias : winBias]);
    const a = g.node("MatMul", [g.node("Softmax", [s], { axis: { i: -1 } }), vv]); // (1, Hv, N, Dv)
    const at = g.node("Reshape", [g.node("Transpose", [a], { perm: { ints: [0, 2, 1, 3] } }), g.constI64([-1, Cv])]);
    x = g.node("Add", [x, linearG(g, at, p + "attn.proj.weight", p + "attn.proj.bias")]);
    x = g.node("Add", [x, swigluG(g, rmsNormG(g, x, p + "norm2.weight", 1e-6), p + "mlp.", true)]);
  }
  let m = rmsNormG(g, x, "visual.merger.ln_q.weight", 1e-6);
  m = g.node("Reshape", [m, g.constI64([-1, unit * Cv])]); // (U, 4Cv)
  m = geluG(g, linearG(g, m, "visual.merger.mlp.0.weight", "visual.merger.mlp.0.bias"));
  m = linearG(g, m, "visual.merger.mlp.2.weight", "visual.merger.mlp.2.bias"); // (U, out)
  g.node("Gather", [m, rwi], { axis: { i: 0 } }, "image_features");
  g.output("image_features", "float32", ["num_tokens", v.out_hidden_size]);
  return g;
}
