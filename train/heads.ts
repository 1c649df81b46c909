/**
 * Correspondence heads H_c (Eq 4) on the GPU: one 2-layer MLP per supervised LLM layer, E = fc2(GELU(fc1(V^(l)))),
 * as trainable tensors named `correspondence_heads.{l}.fc{1,2}.{weight,bias}`. Initialised by SVD of the same layer's
 * W_Q exactly as the f64 reference (train/correspondence_head.ts: ± paired units, so at init the head is the layer's
 * own query projection restricted to its top-k singular directions). GELU is the erf form unless configured.
 *
 * Letters: N visual tokens, d model width, h head hidden width, o head output width.
 */
import { type Rng, Tensor } from "../core/runtime.ts";
import * as op from "../core/ops/mod.ts";
import { type GeluForm, headParamNames, type HeadShape, initHeadsFromWeights } from "./correspondence_head.ts";

export interface GpuHead {
  layer: number;
  gelu: GeluForm;
  fc1Weight: Tensor; // (h, d)
  fc1Bias: Tensor; // (h)
  fc2Weight: Tensor; // (o, h)
  fc2Bias: Tensor; // (o)
}

export interface HeadSetup {
  shape: HeadShape;
  dEmb: number;
  gelu: GeluForm;
}

/** SVD-initialised GPU heads for `layers`, from HF base weights (q_proj of each layer); one Rng for all layers. */
export function createHeads(
  weights: Map<string, Float32Array>,
  hiddenSize: number,
  layers: number[],
  setup: HeadSetup,
  rng: Rng,
): Map<number, GpuHead> {
  const ref = initHeadsFromWeights(weights, hiddenSize, layers, { shape: setup.shape, dEmb: setup.dEmb, rng });
  const out = new Map<number, GpuHead>();
  for (const [l, p] of ref) {
    const n = headParamNames(l);
    const { hidden: h, dModel: d, out: o } = p.dims;
    out.set(l, {
      layer: l,
      gelu: setup.gelu,
      fc1Weight: Tensor.param(Float32Array.from(p.fc1Weight.data), [h, d], n.fc1Weight),
      fc1Bias: Tensor.param(Float32Array.from(p.fc1Bias), [h], n.fc1Bias),
      fc2Weight: Tensor.param(Float32Array.from(p.fc2Weight.data), [o, h], n.fc2Weight),
      fc2Bias: Tensor.param(Float32Array.from(p.fc2Bias), [o], n.fc2Bias),
    });
  }
  return out;
}

/** E = fc2(GELU(fc1(x))): x (N, d) → (N, o). */
export function headForward(head: GpuHead, x: Tensor): Tensor {
  const z = op.matmul(x, head.fc1Weight, { transB: true, bias: head.fc1Bias }); // (N, h)
  const a = op.gelu(z, head.gelu === "erf" ? "none" : "tanh"); // (N, h)
  return op.matmul(a, head.fc2Weight, { transB: true, bias: head.fc2Bias }); // (N, o)
}

/** All head tensors, in layer order then fc1.weight, fc1.bias, fc2.weight, fc2.bias. */
export function headParams(heads: Map<number, GpuHead>): Tensor[] {
  return [...heads.values()].sort((a, b) => a.layer - b.layer).flatMap((
    h,
  ) => [h.fc1Weight, h.fc1Bias, h.fc2Weight, h.fc2Bias]);
}
