/**
 * Shared ONNX subgraphs of the export (opset 17): linear by HF weight [out, in], RMSNorm, SwiGLU, exact GELU,
 * rotate-half rotary. Weights stay initializers under their HF names; transposes are graph nodes that
 * onnxruntime constant-folds at session creation.
 */
import type { GraphBuilder } from "../onnx/graph_builder.ts";

/** x W^T (+ b) */
export function linearG(g: GraphBuilder, x: string, weight: string, bias?: string): string {
  const wt = g.node("Transpose", [weight], { perm: { ints: [1, 0] } });
  const y = g.node("MatMul", [x, wt]);
  return bias ? g.node("Add", [y, bias]) : y;
}

/** x / sqrt(mean(x², -1) + eps) * w */
export function rmsNormG(g: GraphBuilder, x: string, weight: string, eps: number): string {
  const ms = g.node("ReduceMean", [g.node("Mul", [x, x])], { axes: { ints: [-1] }, keepdims: { i: 1 } });
  const inv = g.node("Div", [g.constF([1]), g.node("Sqrt", [g.node("Add", [ms, g.constF([eps])])])]);
  return g.node("Mul", [g.node("Mul", [x, inv]), weight]);
}

export function siluG(g: GraphBuilder, x: string): string {
  return g.node("Mul", [x, g.node("Sigmoid", [x])]);
}

/** 0.5·x·(1 + erf(x/√2)) */
export function geluG(g: GraphBuilder, x: string): string {
  const e = g.node("Erf", [g.node("Mul", [x, g.constF([Math.SQRT1_2])])]);
  return g.node("Mul", [g.node("Mul", [x, g.constF([0.5])]), g.node("Add", [e, g.constF([1])])]);
}

/** down(silu(gate(x)) * up(x)); `prefix` like "model.layers.0.mlp."; biases if `withBias`. */
export function swigluG(g: GraphBuilder, x: string, prefix: string, withBias: boolean): string {
  const b = (n: string) => (withBias ? prefix + n + ".bias" : undefined);
  const gate = linearG(g, x, prefix + "gate_proj.weight", b("gate_proj"));
  const up = linearG(g, x, prefix + "up_proj.weight", b("up_proj"));
  return linearG(g, g.node("Mul", [siluG(g, gate), up]), prefix + "down_proj.weight", b("down_proj"));
}

/** x·cos + rotate_half(x)·sin over the last axis of width D; cos/sin broadcast to x. */
export function rotaryG(g: GraphBuilder, x: string, cos: string, sin: string, D: number): string {
  const [x1, x2] = g.nodeN("Split", [x, g.constI64([D / 2, D / 2])], { axis: { i: -1 } }, 2);
  const rot = g.node("Concat", [g.node("Neg", [x2]), x1], { axis: { i: -1 } });
  return g.node("Add", [g.node("Mul", [x, cos]), g.node("Mul", [rot, sin])]);
}
