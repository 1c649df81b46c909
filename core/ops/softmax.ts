/**
 * softmax and logSoftmax over the last axis, numerically stable (the row maximum is subtracted before exp), with an
 * optional mask and a scale (1 / temperature).
 *
 * z = x · scale (+ mask when `maskMode: "additive"`). Masks broadcast to x's shape (NumPy rules, e.g. a (T, T)
 * causal mask against (B, H, T, T) scores) and are constants (no gradient):
 *  - `maskMode: "keep"` (default): a 0/1 tensor, nonzero keeps the position, 0 masks it out.
 *  - `maskMode: "additive"`: added to the scaled logits (not scaled itself); entries ≤ -1e30 (e.g. -Infinity)
 *    mask the position out, any other value is a bias.
 * Masked positions output 0 in both ops (log-softmax gives 0 there rather than -∞, so products with zero weights
 * stay finite) and receive zero gradient. A fully masked row gives all zeros, forward and backward (never NaN).
 *
 * Kernels: three passes per row (max, Σ exp, write), in core/gpu/kernels/softmax.ts and core/wasm/kernels/rows.ts.
 */
import type { Tensor } from "../tensor.ts";
import { record } from "../tape.ts";
import { softmaxBackwardRaw, softmaxForwardRaw, softmaxPlan } from "../kernels/rows.ts";
import { broadcastStrides } from "../kernels/shapes.ts";
import type { MaskMode } from "../kernels/types.ts";

export type { MaskMode };

/** Options of softmax and logSoftmax. */
export interface SoftmaxOptions {
  /** Broadcastable to x; see the file comment for the two modes. */
  mask?: Tensor;
  /** How `mask` is read (default "keep"). */
  maskMode?: MaskMode;
  /** Multiplies the logits before the softmax (1 / temperature). Default 1. */
  scale?: number;
}

function softmaxImpl(x: Tensor, opts: SoftmaxOptions, log: boolean): Tensor {
  const op = log ? "logSoftmax" : "softmax";
  const mask = opts.mask ?? null;
  const plan = softmaxPlan(op, x, mask, opts.maskMode ?? "keep", opts.scale ?? 1, log);
  const out = softmaxForwardRaw(x, mask, plan);
  // softmax:     fwd y = exp(z - m) / Σ exp(z - m)  →  dz = y ⊙ (g - Σ g ⊙ y)         (y = 0 where masked)
  // logSoftmax:  fwd y = z - m - log Σ exp(z - m)  →  dz = g - exp(y) · Σ_valid g     (0 where masked)
  // and z = x · scale (+ mask)  →  dx = scale · dz
  return record(out, op, [x], (g) => [softmaxBackwardRaw(out, g, mask, plan)]);
}

/** softmax(x · scale [+ mask]) over the last axis. */
export function softmax(x: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return softmaxImpl(x, opts, false);
}

/** log(softmax(x · scale [+ mask])) over the last axis; masked positions give 0 (see the file comment). */
export function logSoftmax(x: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return softmaxImpl(x, opts, true);
}

/** f64 reference (same masking conventions). `mask` is given with its own shape and broadcast to `shape`. */
export function softmaxReference(
  x: Float64Array,
  shape: readonly number[],
  opts: { mask?: Float64Array; maskShape?: readonly number[]; maskMode?: MaskMode; scale?: number; log?: boolean } = {},
): Float64Array {
  const len = shape[shape.length - 1];
  const rows = len === 0 ? 0 : x.length / len;
  const scale = opts.scale ?? 1;
  const mode = opts.maskMode ?? "keep";
  const ms = opts.mask ? broadcastStrides(opts.maskShape ?? shape, shape) : [];
  const xs = [...shape.keys()].map((d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const out = new Float64Array(x.length);
  const maskAt = (i: number) => {
    let off = 0;
    for (let d = 0; d < shape.length; d++) off += (Math.floor(i / xs[d]) % shape[d]) * ms[d];
    return opts.mask![off];
  };
  for (let r = 0; r < rows; r++) {
    const z: number[] = [], valid: boolean[] = [];
    for (let c = 0; c < len; c++) {
      const i = r * len + c;
      let v = x[i] * scale, ok = true;
      if (opts.mask) {
        const mv = maskAt(i);
        if (mode === "keep") ok = mv !== 0;
        else {
          ok = mv > -1e30;
          v += mv;
        }
      }
      z.push(v);
      valid.push(ok);
    }
    let m = -Infinity;
    for (let c = 0; c < len; c++) if (valid[c]) m = Math.max(m, z[c]);
    if (m === -Infinity) continue; // fully masked: zeros
    let s = 0;
    for (let c = 0; c < len; c++) if (valid[c]) s += Math.exp(z[c] - m);
    for (let c = 0; c < len; c++) {
      if (!valid[c]) continue;
      out[r * len + c] = opts.log ? z[c] - m - Math.log(s) : Math.exp(z[c] - m) / s;
    }
  }
  return out;
}
