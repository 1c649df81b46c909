/**
 * f64 reference of LoRA (Hu et al. 2021) as a wrapper of a linear, that the product adapters (train/lora.ts) and
 * their merge (core/model/lora_merge.ts) are tested against:
 *   y = x Wᵀ + b + (α/r) · dropout(x) Aᵀ Bᵀ          W (out, in) frozen, A (r, in), B (out, r) trained
 * and its merge for export: W' = W + (α/r) · B · A (then the model is a plain linear again).
 * Init as PEFT: A ~ U(−1/√in, 1/√in) (kaiming_uniform with a = √5), B = 0, so the adapted model starts equal to
 * the base.
 *
 * Dimension letters: N tokens, I in features, O out features, R rank.
 */
import { ShapeMismatchError } from "../../core/errors.ts";
import type { Rng } from "../../core/random.ts";
import { type MatF64, zeros } from "../mat_f64.ts";
import { addRowVector, matmul, matmulTransA, matmulTransB } from "./dense.ts";

export interface LoraOptions {
  rank: number;
  alpha: number;
  /** Dropout probability on the adapter's input (base path never dropped). */
  dropout: number;
}

export interface LoraAdapterF64 extends LoraOptions {
  A: MatF64; // (R, I)
  B: MatF64; // (O, R)
}

export function loraScaling(a: LoraOptions): number {
  return a.alpha / a.rank;
}

export function initLoraAdapter(inFeatures: number, outFeatures: number, o: LoraOptions, rng: Rng): LoraAdapterF64 {
  const A = zeros(o.rank, inFeatures);
  const bound = 1 / Math.sqrt(inFeatures);
  for (let i = 0; i < A.data.length; i++) A.data[i] = rng.uniform(-bound, bound);
  return { ...o, A, B: zeros(outFeatures, o.rank) };
}

/** Inverted-dropout mask (N·I): 0 with probability p, else 1/(1 − p); null when p = 0 (eval or no dropout). */
export function dropoutMask(rows: number, cols: number, p: number, rng: Rng): Float64Array | null {
  if (p <= 0) return null;
  const m = new Float64Array(rows * cols);
  for (let i = 0; i < m.length; i++) m[i] = rng.next() < p ? 0 : 1 / (1 - p);
  return m;
}

export interface LoraForwardCache {
  x: MatF64; // (N, I)
  xDrop: MatF64; // (N, I)
  h: MatF64; // (N, R)  h = xDrop Aᵀ
  mask: Float64Array | null;
}

/** y = x Wᵀ + b + s · (mask ⊙ x) Aᵀ Bᵀ, s = α/r. */
export function loraLinearForward(
  x: MatF64,
  W: MatF64,
  bias: Float64Array | null,
  ad: LoraAdapterF64,
  mask: Float64Array | null,
): { y: MatF64; cache: LoraForwardCache } {
  if (x.cols !== W.cols || ad.A.cols !== W.cols || ad.B.rows !== W.rows) {
    throw new ShapeMismatchError(
      "loraLinearForward",
      `x (${x.rows}, ${x.cols}), W (${W.rows}, ${W.cols}), A (${ad.A.rows}, ${ad.A.cols}), B (${ad.B.rows}, ${ad.B.cols})`,
    );
  }
  const y = matmulTransB(x, W); // (N, O)
  if (bias) addRowVector(y, bias);
  const xDrop = mask ? { ...x, data: x.data.map((v, i) => v * mask[i]) } : x; // (N, I)
  const h = matmulTransB(xDrop, ad.A); // (N, R)
  const delta = matmulTransB(h, ad.B); // (N, O)
  const s = loraScaling(ad);
  for (let i = 0; i < y.data.length; i++) y.data[i] += s * delta.data[i];
  return { y, cache: { x, xDrop, h, mask } };
}

/** Gradients of loraLinearForward for dL/dy (N, O); W and b are frozen. */
export function loraLinearBackward(
  W: MatF64,
  ad: LoraAdapterF64,
  cache: LoraForwardCache,
  dY: MatF64,
): { dX: MatF64; dA: MatF64; dB: MatF64 } {
  const s = loraScaling(ad);
  // fwd: y = x Wᵀ + s · h Bᵀ, h = xDrop Aᵀ, xDrop = mask ⊙ x
  const dB = matmulTransA(dY, cache.h); // dB = s · dYᵀ h             (O, R)
  for (let i = 0; i < dB.data.length; i++) dB.data[i] *= s;
  const dH = matmul(dY, ad.B); // dh = s · dY B                        (N, R)
  for (let i = 0; i < dH.data.length; i++) dH.data[i] *= s;
  const dA = matmulTransA(dH, cache.xDrop); // dA = dhᵀ xDrop          (R, I)
  const dXDrop = matmul(dH, ad.A); // dxDrop = dh A                    (N, I)
  const dX = matmul(dY, W); // base path: dY W                          (N, I)
  for (let i = 0; i < dX.data.length; i++) dX.data[i] += cache.mask ? cache.mask[i] * dXDrop.data[i] : dXDrop.data[i];
  return { dX, dA, dB };
}

/** W' = W + (α/r) B A: the adapter folded into the base weight (O, I), for export. */
export function mergeLora(W: MatF64, ad: LoraAdapterF64): MatF64 {
  const BA = matmul(ad.B, ad.A); // (O, I)
  const s = loraScaling(ad);
  return { rows: W.rows, cols: W.cols, data: W.data.map((w, i) => w + s * BA.data[i]) };
}
