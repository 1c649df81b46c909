/**
 * Folding LoRA adapters into their base weights (Hu et al. 2021, as PEFT's merge_and_unload): for each adapted
 * linear W (O, I) with A (R, I) and B (O, R), W' = W + (α/r) · B · A, computed in f64 on the host and stored f32.
 * Training's export (train/lora.ts) and loading a step checkpoint as a model (core/model/folder/load.ts) use it.
 *
 * Letters: O out features, I in features, R rank.
 */
import { ShapeMismatchError } from "../errors.ts";
import type { Weights } from "./init.ts";

/** One adapter on the host: the HF module it adapts (model.layers.0.self_attn.q_proj) and its two matrices. */
export interface HostLoraAdapter {
  module: string;
  /** (R, I) row-major. */
  A: ArrayLike<number>;
  /** (O, R) row-major. */
  B: ArrayLike<number>;
  rank: number;
}

/** Base weights with every adapter folded in (W + scale · B · A, scale = α/r); untouched weights are shared. */
export function mergeLoraWeights(base: Weights, adapters: Iterable<HostLoraAdapter>, scale: number): Weights {
  const out: Weights = new Map(base);
  for (const ad of adapters) {
    const name = `${ad.module}.weight`;
    const W = base.get(name);
    if (!W) throw new ShapeMismatchError("mergeLoraWeights", `no base weight ${name} for the adapter`);
    const R = ad.rank, I = ad.A.length / R, O = ad.B.length / R;
    if (!Number.isInteger(I) || !Number.isInteger(O) || O * I !== W.length) {
      throw new ShapeMismatchError("mergeLoraWeights", `${name}: W ${W.length} vs A (${R}, ${I}) and B (${O}, ${R})`);
    }
    const merged = new Float32Array(W.length); // (O, I)
    const ba = new Float64Array(I);
    for (let o = 0; o < O; o++) {
      ba.fill(0);
      for (let r = 0; r < R; r++) {
        const b = ad.B[o * R + r];
        if (b === 0) continue;
        for (let i = 0; i < I; i++) ba[i] += b * ad.A[r * I + i]; // (B·A)[o, i], summed over r in order
      }
      for (let i = 0; i < I; i++) merged[o * I + i] = W[o * I + i] + scale * ba[i];
    }
    out.set(name, merged);
  }
  return out;
}
