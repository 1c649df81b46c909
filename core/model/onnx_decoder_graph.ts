/**
 * decoder.onnx: the Qwen2.5-VL language model with KV cache as a standard-opset graph.
 *
 * Inputs (B batch, T new tokens, P cached tokens, S = P + T, H width, Hkv kv heads, D head dim):
 *   input_ids                      (B, T)        i64  token ids (pad tokens included)
 *   visual_embeds                  (B, T, H)     f32  vision features at image/video pad positions, ignored elsewhere
 *                                                      (zeros are fine); the graph picks them where input_ids is
 *                                                      image_token_id or video_token_id (HF masked_scatter)
 *   position_ids                   (3, B, T)     i64  M-RoPE t/h/w ids (core/model/rope_index.ts)
 *   attention_mask                 (B, S)        i64  1 = real token, 0 = padding; causal masking is added inside
 *   past_key_values.{i}.key/value  (B, Hkv, P, D) f32 (P may be 0)
 * Outputs:
 *   logits                         (B, T, V)     f32
 *   present.{i}.key/value          (B, Hkv, S, D) f32 keys after M-RoPE, values
 */
import { GraphBuilder } from "../onnx/graph_builder.ts";
import type { VlmConfig } from "./config.ts";
import { headDim } from "./config.ts";
import type { Weights } from "./init.ts";
import { parameterShapes } from "./init.ts";
import { linearG, rmsNormG, rotaryG, swigluG } from "./onnx_layers.ts";

export function buildDecoderGraph(c: VlmConfig, weights: Weights): GraphBuilder {
  const H = c.hidden_size, D = headDim(c), Hq = c.num_attention_heads, Hkv = c.num_key_value_heads, rep = Hq / Hkv;
  const g = new GraphBuilder("qwen2_5_vl_decoder");
  for (const [name, shape] of parameterShapes(c)) {
    if (!name.startsWith("visual.")) g.initializer(name, shape, weights.get(name)!);
  }
  const ids = g.input("input_ids", "int64", ["batch", "seq"]);
  const vis = g.input("visual_embeds", "float32", ["batch", "seq", H]);
  const pos = g.input("position_ids", "int64", [3, "batch", "seq"]);
  const mask = g.input("attention_mask", "int64", ["batch", "total_seq"]);
  g.output("logits", "float32", ["batch", "seq", c.vocab_size]);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    g.input(`past_key_values.${l}.key`, "float32", ["batch", Hkv, "past_seq", D]);
    g.input(`past_key_values.${l}.value`, "float32", ["batch", Hkv, "past_seq", D]);
  }

  // embeddings with visual features at pad positions
  const emb = g.node("Gather", ["model.embed_tokens.weight", ids], { axis: { i: 0 } }); // (B, T, H)
  const isVis = g.node("Or", [
    g.node("Equal", [ids, g.constI64([c.image_token_id], [])]),
    g.node("Equal", [ids, g.constI64([c.video_token_id], [])]),
  ]);
  let x = g.node("Where", [g.node("Unsqueeze", [isVis, g.constI64([-1])]), vis, emb]);

  // M-RoPE tables: angle[b, t, j] = pos[section(j), b, t] · θ^(-2j/D), doubled to D
  const half = D / 2, [s0, s1] = c.rope_scaling.mrope_section;
  const invFreq = g.constF(Array.from({ length: half }, (_, j) => Math.pow(c.rope_theta, (-2 * j) / D)));
  const sel = Array.from({ length: 3 * half }, (_, k) => {
    const axis = Math.floor(k / half), j = k % half;
    return (j < s0 ? 0 : j < s0 + s1 ? 1 : 2) === axis ? 1 : 0;
  });
  const posF = g.node("Unsqueeze", [g.node("Cast", [pos], { to: { i: 1 } }), g.constI64([-1])]); // (3, B, T, 1)
  const ang3 = g.node("Mul", [g.node("Mul", [posF, invFreq]), g.constF(sel, [3, 1, 1, half])]);
  const ang = g.node("ReduceSum", [ang3, g.constI64([0])], { keepdims: { i: 0 } }); // (B, T, D/2)
  const angD = g.node("Concat", [ang, ang], { axis: { i: -1 } });
  const cos = g.node("Unsqueeze", [g.node("Cos", [angD]), g.constI64([1])]); // (B, 1, T, D)
  const sin = g.node("Unsqueeze", [g.node("Sin", [angD]), g.constI64([1])]);

  // additive mask (B, 1, 1, T, S): key j visible to query i iff j <= P + i and attention_mask[b, j] = 1
  const scalar = (t: string) => g.node("Squeeze", [t, g.constI64([0])]);
  const S = scalar(g.node("Shape", [mask], { start: { i: 1 } }));
  const T = scalar(g.node("Shape", [ids], { start: { i: 1 } }));
  const one = g.constI64([1], []);
  const kIdx = g.node("Range", [g.constI64([0], []), S, one]); // (S)
  const qIdx = g.node("Unsqueeze", [g.node("Range", [g.node("Sub", [S, T]), S, one]), g.constI64([-1])]); // (T, 1)
  const causal = g.node("LessOrEqual", [kIdx, qIdx]); // (T, S)
  const pad = g.node("Unsqueeze", [g.node("Cast", [mask], { to: { i: 9 } }), g.constI64([1, 2, 3])]); // (B,1,1,1,S)
  const bias = g.node("Where", [g.node("And", [causal, pad]), g.constF([0], []), g.constF([-1e9], [])]);

  const scale = g.constF([1 / Math.sqrt(D)]);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    const xn = rmsNormG(g, x, p + "input_layernorm.weight", c.rms_norm_eps);
    const heads = (t: string, n: number) =>
      g.node("Transpose", [g.node("Reshape", [t, g.constI64([0, 0, n, D])])], { perm: { ints: [0, 2, 1, 3] } });
    const q = rotaryG(
      g,
      heads(linearG(g, xn, p + "self_attn.q_proj.weight", p + "self_attn.q_proj.bias"), Hq),
      cos,
      sin,
      D,
    );
    const k = rotaryG(
      g,
      heads(linearG(g, xn, p + "self_attn.k_proj.weight", p + "self_attn.k_proj.bias"), Hkv),
      cos,
      sin,
      D,
    );
    const v = heads(linearG(g, xn, p + "self_attn.v_proj.weight", p + "self_attn.v_proj.bias"), Hkv);
    const kAll = g.node("Concat", [`past_key_values.${l}.key`, k], { axis: { i: 2 } }, `present.${l}.key`);
    const vAll = g.node("Concat", [`past_key_values.${l}.value`, v], { axis: { i: 2 } }, `present.${l}.value`);
    const q5 = g.node("Reshape", [q, g.constI64([0, Hkv, rep, -1, D])]); // (B, Hkv, rep, T, D)
    const k5 = g.node("Transpose", [g.node("Unsqueeze", [kAll, g.constI64([2])])], { perm: { ints: [0, 1, 2, 4, 3] } });
    const s = g.node("Add", [g.node("Mul", [g.node("MatMul", [q5, k5]), scale]), bias]); // (B, Hkv, rep, T, S)
    const a = g.node("MatMul", [
      g.node("Softmax", [s], { axis: { i: -1 } }),
      g.node("Unsqueeze", [vAll, g.constI64([2])]),
    ]);
    const a4 = g.node("Transpose", [g.node("Reshape", [a, g.constI64([0, Hq, -1, D])])], {
      perm: { ints: [0, 2, 1, 3] },
    });
    const o = linearG(g, g.node("Reshape", [a4, g.constI64([0, 0, Hq * D])]), p + "self_attn.o_proj.weight");
    x = g.node("Add", [x, o]);
    x = g.node("Add", [
      x,
      swigluG(g, rmsNormG(g, x, p + "post_attention_layernorm.weight", c.rms_norm_eps), p + "mlp.", false),
    ]);
    g.output(`present.${l}.key`, "float32", ["batch", Hkv, "total_seq", D]);
    g.output(`present.${l}.value`, "float32", ["batch", Hkv, "total_seq", D]);
  }
  x = rmsNormG(g, x, "model.norm.weight", c.rms_norm_eps);
  const head = c.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  const wt = g.node("Transpose", [head], { perm: { ints: [1, 0] } });
  g.node("MatMul", [x, wt], {}, "logits");
  return g;
}
