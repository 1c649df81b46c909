/**
 * f64 reference of the correspondence head H_c (Eq 4), E = fc2(GELU(fc1(X))), forward and backward, that the product
 * heads (train/correspondence_head.ts) and the geometric half of a training step (train/reference/head_loss.ts) are
 * tested against.
 *
 * Dimension letters: N visual tokens, d model width, h head hidden width, o head output width.
 */
import { ShapeMismatchError } from "../../core/errors.ts";
import { erf } from "../../core/model/reference/ops.ts";
import type { CorrespondenceHeadParams, GeluForm } from "../correspondence_head.ts";
import { type MatF64, zeros } from "../mat_f64.ts";
import { addRowVector, matmul, matmulTransA, matmulTransB, sumRows } from "./dense.ts";

// GELU. erf form: gelu(z) = z Φ(z) = ½ z (1 + erf(z/√2)),  gelu'(z) = Φ(z) + z φ(z).
// tanh form: gelu(z) = ½ z (1 + tanh(u)), u = √(2/π) (z + 0.044715 z³),
//            gelu'(z) = ½ (1 + t) + ½ z (1 − t²) √(2/π) (1 + 3·0.044715 z²), t = tanh(u).
const GELU_C = Math.sqrt(2 / Math.PI);

export function gelu(z: number, form: GeluForm = "erf"): number {
  if (form === "erf") return 0.5 * z * (1 + erf(z / Math.SQRT2));
  return 0.5 * z * (1 + Math.tanh(GELU_C * (z + 0.044715 * z * z * z)));
}

export function geluGrad(z: number, form: GeluForm = "erf"): number {
  if (form === "erf") return 0.5 * (1 + erf(z / Math.SQRT2)) + (z * Math.exp(-0.5 * z * z)) / Math.sqrt(2 * Math.PI);
  const t = Math.tanh(GELU_C * (z + 0.044715 * z * z * z));
  return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * z * z);
}

export interface HeadForwardCache {
  x: MatF64; // (N, d)
  preAct: MatF64; // (N, h)
  act: MatF64; // (N, h)
}

/** E = fc2(GELU(fc1(X))). X (N, d) → E (N, o). */
export function correspondenceHeadForward(
  p: CorrespondenceHeadParams,
  x: MatF64,
): { out: MatF64; cache: HeadForwardCache } {
  if (x.cols !== p.dims.dModel) {
    throw new ShapeMismatchError("correspondenceHeadForward", `input width ${x.cols} vs d = ${p.dims.dModel}`);
  }
  const preAct = addRowVector(matmulTransB(x, p.fc1Weight), p.fc1Bias); // (N, h)
  const act = zeros(preAct.rows, preAct.cols); // (N, h)
  for (let i = 0; i < act.data.length; i++) act.data[i] = gelu(preAct.data[i], p.gelu);
  const out = addRowVector(matmulTransB(act, p.fc2Weight), p.fc2Bias); // (N, o)
  return { out, cache: { x, preAct, act } };
}

export interface HeadGrads {
  dX: MatF64; // (N, d)
  fc1Weight: MatF64; // (h, d)
  fc1Bias: Float64Array; // (h)
  fc2Weight: MatF64; // (o, h)
  fc2Bias: Float64Array; // (o)
}

/** Backward of correspondenceHeadForward given dL/dE (N, o). */
export function correspondenceHeadBackward(
  p: CorrespondenceHeadParams,
  cache: HeadForwardCache,
  dOut: MatF64,
): HeadGrads {
  // fwd: E = A W2ᵀ + b2, A = gelu(Z), Z = X W1ᵀ + b1
  const fc2Weight = matmulTransA(dOut, cache.act); // dW2 = dEᵀ A          (o, h)
  const fc2Bias = sumRows(dOut); // db2 = Σ_n dE                          (o)
  const dAct = matmul(dOut, p.fc2Weight); // dA = dE W2                   (N, h)
  const dPre = zeros(dAct.rows, dAct.cols); // dZ = dA ⊙ gelu'(Z)          (N, h)
  for (let i = 0; i < dPre.data.length; i++) dPre.data[i] = dAct.data[i] * geluGrad(cache.preAct.data[i], p.gelu);
  const fc1Weight = matmulTransA(dPre, cache.x); // dW1 = dZᵀ X           (h, d)
  const fc1Bias = sumRows(dPre); // db1 = Σ_n dZ                          (h)
  const dX = matmul(dPre, p.fc1Weight); // dX = dZ W1                     (N, d)
  return { dX, fc1Weight, fc1Bias, fc2Weight, fc2Bias };
}
