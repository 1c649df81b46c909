/**
 * argmax and topk over the last axis (no gradient).
 * Order: larger value first; among equal values the lower index first. So argmax returns the FIRST maximal index,
 * and topk(x, k) returns values sorted descending with ties broken by lower index (a stable descending sort).
 * NaN is not supported (comparisons with NaN are false, so a NaN may or may not be picked).
 *
 * The kernels run k selections per row, each over the elements that come after the previous pick in that order —
 * O(k · len) per row, no extra memory.
 */
import type { Tensor } from "../tensor.ts";
import { topkRaw } from "../kernels/rows.ts";

/** Index of the first maximum over the last axis: (…, L) → (…) i32. */
export function argmax(x: Tensor): Tensor {
  const { values, indices } = topkRaw(x, 1);
  values.dispose();
  const out = indices.view(x.shape.slice(0, -1));
  indices.dispose();
  return out;
}

/** The k largest entries over the last axis, sorted descending (ties: lower index first): (…, k) f32 and i32. */
export function topk(x: Tensor, k: number): { values: Tensor; indices: Tensor } {
  return topkRaw(x, k);
}

/** f64 reference: per row, (value, index) pairs of the k first in the order (value desc, index asc). */
export function topkReference(x: Float64Array, len: number, k: number): { values: Float64Array; indices: Int32Array } {
  const rows = len === 0 ? 0 : x.length / len;
  const values = new Float64Array(rows * k);
  const indices = new Int32Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const order = [...Array(len).keys()].sort((a, b) => x[r * len + b] - x[r * len + a] || a - b);
    for (let t = 0; t < k; t++) {
      values[r * k + t] = x[r * len + order[t]];
      indices[r * k + t] = order[t];
    }
  }
  return { values, indices };
}
