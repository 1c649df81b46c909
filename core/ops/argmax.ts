/**
 * argmax and topk over the last axis (no gradient).
 * Order: larger value first; among equal values the lower index first. So argmax returns the FIRST maximal index,
 * and topk(x, k) returns values sorted descending with ties broken by lower index (a stable descending sort).
 * NaN is not supported (comparisons with NaN are false, so a NaN may or may not be picked).
 *
 * One workgroup per row reduces (value, index) pairs in workgroup memory. topk runs k such selections, each over
 * the elements that come after the previous pick in that order — O(k · len) per row, no extra memory.
 */
import { Tensor } from "../tensor.ts";
import { ShapeMismatchError } from "../errors.ts";
import { launch, packParams } from "./kernel.ts";
import { lastAxisRows, ROW_ARGS, ROW_INDEX, rowGrid, rowWorkgroupSize } from "./rows.ts";

function code(wg: number) {
  return () => `
struct P { rows: u32, len: u32, k: u32 }
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> V: array<f32>;
@group(0) @binding(2) var<storage, read_write> I: array<i32>;
@group(0) @binding(3) var<uniform> p: P;
var<workgroup> rv: array<f32, ${wg}>;
var<workgroup> ri: array<u32, ${wg}>;
const NONE = 0xffffffffu;
// (v, i) comes before (bv, bi) in the order: larger value, then lower index; NONE is last.
fn before(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  return i != NONE && (bi == NONE || v > bv || (v == bv && i < bi));
}
@compute @workgroup_size(${wg})
fn main(${ROW_ARGS}) {
  _ = V[0];
  ${ROW_INDEX}
  if (row >= p.rows) { return; }
  let base = row * p.len;
  var pv = 0.0;
  var pi = NONE;
  for (var t = 0u; t < p.k; t++) {
    var bv = 0.0;
    var bi = NONE;
    for (var c = lid; c < p.len; c += ${wg}u) {
      let v = X[base + c];
      // eligible: strictly after the previous pick in the order
      if ((pi == NONE || before(pv, pi, v, c)) && before(v, c, bv, bi)) { bv = v; bi = c; }
    }
    rv[lid] = bv;
    ri[lid] = bi;
    workgroupBarrier();
    for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
      if (lid < s && before(rv[lid + s], ri[lid + s], rv[lid], ri[lid])) {
        rv[lid] = rv[lid + s];
        ri[lid] = ri[lid + s];
      }
      workgroupBarrier();
    }
    pv = rv[0];
    pi = ri[0];
    workgroupBarrier();
    if (lid == 0u) {
      V[row * p.k + t] = pv;
      I[row * p.k + t] = i32(pi);
    }
  }
}`;
}

function select(x: Tensor, k: number): { values: Tensor; indices: Tensor } {
  const { rows, len } = lastAxisRows("topk", x);
  if (!Number.isInteger(k) || k < 0 || k > len) {
    throw new ShapeMismatchError("topk", `k = ${k} for a last axis of ${len}`);
  }
  const shape = [...x.shape.slice(0, -1), k];
  const values = Tensor.empty(shape);
  const indices = Tensor.empty(shape, "i32");
  if (values.size > 0) {
    const wg = rowWorkgroupSize(len);
    launch(`topk_${wg}`, code(wg), [x, values, indices], packParams([["u32", rows], ["u32", len], ["u32", k]]), [
      ...rowGrid(rows),
    ]);
  }
  return { values, indices };
}

/** Index of the first maximum over the last axis: (…, L) → (…) i32. */
export function argmax(x: Tensor): Tensor {
  const { values, indices } = select(x, 1);
  values.dispose();
  const out = indices.view(x.shape.slice(0, -1));
  indices.dispose();
  return out;
}

/** The k largest entries over the last axis, sorted descending (ties: lower index first): (…, k) f32 and i32. */
export function topk(x: Tensor, k: number): { values: Tensor; indices: Tensor } {
  return select(x, k);
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
