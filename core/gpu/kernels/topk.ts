/**
 * WGSL topk over the last axis (argmax is topk 1): one workgroup per row reduces (value, index) pairs in workgroup
 * memory, k times, each over the elements after the previous pick in the order (value desc, index asc).
 */
import { bindings } from "../wgsl.ts";
import { launch, packParams } from "../launch.ts";
import { rowGrid, rowMain, rowWorkgroupSize } from "../rows.ts";
import type { Tensor } from "../../tensor.ts";

function code(wg: number) {
  return () => `
struct P { rows: u32, len: u32, k: u32 }
${bindings(["in X", "out V", "out I: i32"], "P")}
var<workgroup> rv: array<f32, ${wg}>;
var<workgroup> ri: array<u32, ${wg}>;
const NONE = 0xffffffffu;
// (v, i) comes before (bv, bi) in the order: larger value, then lower index; NONE is last.
fn before(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  return i != NONE && (bi == NONE || v > bv || (v == bv && i < bi));
}
${rowMain(wg)}
  _ = V[0];
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

export function topk(x: Tensor, values: Tensor, indices: Tensor, p: { rows: number; len: number; k: number }): void {
  const wg = rowWorkgroupSize(p.len);
  const u = packParams([["u32", p.rows], ["u32", p.len], ["u32", p.k]]);
  launch(`topk_${wg}`, code(wg), [x, values, indices], u, rowGrid(p.rows));
}
