/**
 * From a model's captured per-layer queries and keys of the visual tokens to the analysis' LayerFeatures (App. C):
 * the visual span's rows are frame-major (frame f's P tokens are rows f·P … f·P + P − 1), per-head features are
 * averaged over heads ("for GQA, we average over attention heads to obtain [N_p, d̄]"; queries over the H_q query
 * heads, keys over the H_kv key heads), and the confidence is the attention softmax of the averaged features,
 * softmax(q̄·k̄ / √d̄) over the target frame's keys.
 *
 * Dimension letters: F frames, P patches per frame, H heads, D head dim.
 */
import { ShapeMismatchError } from "../errors.ts";
import type { LayerFeatures } from "./features.ts";

/** (N, H, D) → (N, D): the mean over heads of each row. */
export function averageHeads(x: Float32Array, rows: number, heads: number, dim: number): Float32Array {
  if (x.length !== rows * heads * dim) {
    throw new ShapeMismatchError("averageHeads", `${x.length} values for (${rows}, ${heads}, ${dim})`);
  }
  const out = new Float32Array(rows * dim); // (N, D)
  for (let r = 0; r < rows; r++) {
    for (let d = 0; d < dim; d++) {
      let s = 0;
      for (let h = 0; h < heads; h++) s += x[(r * heads + h) * dim + d];
      out[r * dim + d] = s / heads;
    }
  }
  return out;
}

export interface QkShape {
  frames: number;
  patches: number;
  qHeads: number;
  kvHeads: number;
  headDim: number;
}

/**
 * Per layer l: q (F·P, H_q, D) and k (F·P, H_kv, D) of the visual tokens, already sliced to the span.
 * Returns head-averaged (F, P, D) blocks with the scaledDot confidence rule (scale 1/√D).
 */
export function qkLayerFeatures(layers: { q: Float32Array; k: Float32Array }[], s: QkShape): LayerFeatures {
  const rows = s.frames * s.patches;
  return {
    q: layers.map((l) => averageHeads(l.q, rows, s.qHeads, s.headDim)),
    k: layers.map((l) => averageHeads(l.k, rows, s.kvHeads, s.headDim)),
    dim: s.headDim,
    confidence: { kind: "scaledDot", scale: 1 / Math.sqrt(s.headDim) },
  };
}
