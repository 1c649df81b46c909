/**
 * Integer indexing with deterministic scatter-add backwards (every gradient element is summed in ascending index
 * position, on both devices, so results are reproducible; WGSL has no f32 atomics anyway):
 *  - indexSelect(x, axis, idx): out = x taken at positions idx (1-D, K entries) along `axis`.
 *  - embedding(weight (V, D), ids (…)) → (…, D) = indexSelect(weight, 0, ids) reshaped.
 *  - gather(x, axis, index) (torch.gather): out[…, j, …] = x[…, index[…, j, …], …], out shape = index shape.
 * Indices are an i32 Tensor or (indexSelect/embedding) a host Int32Array, range-checked on the host. Out-of-range
 * indices inside a Tensor read as 0 and receive no gradient.
 *
 * Backward cost of indexSelect/embedding: the indices are bucketed into a CSR table (offsets per row L, positions
 * sorted stably), then each dx element sums its bucket: O(size(x) + size(g)). With a host Int32Array the table is
 * built on the host; with a GPU Tensor of K > 8 indices one invocation builds it on the GPU (O(L + K) serial work,
 * fine up to vocabularies of ~10⁵–10⁶); K ≤ 8 skips the table and each dx element scans the K indices
 * (O(size(x) · K)). All paths sum in ascending position order, so they agree bit for bit.
 * gather's backward scans the gathered axis: O(size(x) · index.shape[axis]).
 */
import { Tensor } from "../tensor.ts";
import { record } from "../tape.ts";
import { ShapeMismatchError } from "../errors.ts";
import {
  gatherBackwardRaw,
  gatherPlan,
  gatherRaw,
  indexPlan,
  indexSelectBackwardRaw,
  indexSelectRaw,
} from "../kernels/index.ts";
import { contiguousStrides, MAX_RANK, normAxes } from "../kernels/shapes.ts";
import { reshape } from "./reshape.ts";

function checkHostIndices(op: string, idx: Int32Array, len: number): void {
  idx.forEach((v, k) => {
    if (!(v >= 0 && v < len)) throw new ShapeMismatchError(op, `index ${v} at position ${k} is outside [0, ${len})`);
  });
}

/** x taken at positions `idx` (K entries, read as a flat list) along `axis`: shape with axis length → K. */
export function indexSelect(x: Tensor, axis: number, idx: Tensor | Int32Array): Tensor {
  const [ax] = normAxes("indexSelect", axis, x.rank);
  const len = x.shape[ax];
  const host = idx instanceof Int32Array ? idx : null;
  let it: Tensor;
  if (host) {
    checkHostIndices("indexSelect", host, len);
    it = Tensor.from(host, [host.length], { dtype: "i32", device: x.device });
  } else {
    it = idx as Tensor;
    if (it.dtype !== "i32") throw new ShapeMismatchError("indexSelect", `indices must be i32, got ${it.dtype}`);
  }
  const plan = indexPlan(x, ax, it.size);
  const out = indexSelectRaw(x, ax, it, plan);
  // fwd: out[o, k, in] = x[o, idx[k], in]  →  dx[o, v, in] = Σ_{k: idx[k] = v} g[o, k, in]  (ascending k)
  const result = record(out, "indexSelect", [x], (g) => [indexSelectBackwardRaw(g, it, host, x.shape, plan)]);
  if (host && !result.node) it.dispose();
  return result;
}

/** Rows of weight (V, D) for ids (…) → (…, D). Prefer host Int32Array ids for large V (see the file comment). */
export function embedding(weight: Tensor, ids: Tensor | Int32Array): Tensor {
  if (weight.rank !== 2) throw new ShapeMismatchError("embedding", `weight must be (V, D), got [${weight.shape}]`);
  const idsShape = ids instanceof Int32Array ? [ids.length] : ids.shape;
  const rows = indexSelect(weight, 0, ids); // (N, D): indexSelect reads any-shaped ids as a flat list
  const out = reshape(rows, [...idsShape, weight.shape[1]]); // (…, D)
  if (!out.node) rows.dispose();
  return out;
}

/** torch.gather: index (i32, same rank as x, index.shape[d] ≤ x.shape[d] for d ≠ axis) → out of index's shape. */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  const [ax] = normAxes("gather", axis, x.rank);
  if (x.rank > MAX_RANK) throw new ShapeMismatchError("gather", `rank > ${MAX_RANK}`);
  const plan = gatherPlan(x, ax, index);
  const out = gatherRaw(x, index, plan);
  // fwd: out[c] = x[c with c_axis := index[c]]  →  dx[c] = Σ_j [index[c with c_axis := j] = c_axis] · g[same]
  return record(out, "gather", [x], (g) => [gatherBackwardRaw(g, index, plan)]);
}

/** f64 reference for indexSelect. */
export function indexSelectReference(
  x: Float64Array,
  shape: readonly number[],
  axis: number,
  idx: ArrayLike<number>,
): Float64Array {
  const ax = axis < 0 ? axis + shape.length : axis;
  const len = shape[ax];
  const inner = shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const out = new Float64Array(outer * idx.length * inner);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < idx.length; k++) {
      for (let i = 0; i < inner; i++) out[(o * idx.length + k) * inner + i] = x[(o * len + idx[k]) * inner + i];
    }
  }
  return out;
}

/** f64 reference for gather. */
export function gatherReference(
  x: Float64Array,
  shape: readonly number[],
  axis: number,
  index: ArrayLike<number>,
  indexShape: readonly number[],
): Float64Array {
  const ax = axis < 0 ? axis + shape.length : axis;
  const xs = contiguousStrides(shape), is = contiguousStrides(indexShape);
  const out = new Float64Array(index.length);
  for (let i = 0; i < index.length; i++) {
    let off = 0;
    for (let d = 0; d < shape.length; d++) {
      const c = d === ax ? index[i] : Math.floor(i / is[d]) % indexShape[d];
      off += c * xs[d];
    }
    out[i] = x[off];
  }
  return out;
}
