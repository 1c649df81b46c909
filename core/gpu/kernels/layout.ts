/** WGSL data-movement kernels over 4-byte elements: permute, slice, pad (slice's backward), place (concat). */
import { bindings } from "../wgsl.ts";
import { FLAT_ARGS, flatIndex, grid1d, launch, packParams } from "../launch.ts";
import { MAX_RANK } from "../../kernels/shapes.ts";
import type { AxisPart } from "../../kernels/types.ts";
import type { Tensor } from "../../tensor.ts";

const WG = 256;

const permuteCode = () => `
struct P { n: u32, rank: u32, shape: array<vec4<u32>, 2>, src: array<vec4<u32>, 2> }
${bindings(["in X: u32", "out O: u32"], "P")}
@compute @workgroup_size(${WG})
fn main(${FLAT_ARGS}) {
  ${flatIndex(WG)}
  if (i >= p.n) { return; }
  var rem = i;
  var s = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = p.shape[d / 4][d % 4];
    s += (rem % dim) * p.src[d / 4][d % 4];
    rem = rem / dim;
  }
  O[i] = X[s];
}`;

export function permute(x: Tensor, out: Tensor, srcStrides: number[]): void {
  const u = new Uint32Array(4 + 2 * MAX_RANK);
  u[0] = out.size;
  u[1] = out.rank;
  out.shape.forEach((d, i) => {
    u[4 + i] = d;
    u[4 + MAX_RANK + i] = srcStrides[i];
  });
  launch("permute", permuteCode, [x, out], u.buffer, grid1d(out.size, WG));
}

const PART = "struct P { n: u32, len: u32, inner: u32, dim: u32, start: u32 }";
const SPLIT = `let r = i % p.inner;
  let q = i / p.inner;`;

const sliceCode = () => `
${PART}
${bindings(["in X: u32", "out O: u32"], "P")}
@compute @workgroup_size(${WG})
fn main(${FLAT_ARGS}) {
  ${flatIndex(WG)}
  if (i >= p.n) { return; }
  ${SPLIT}
  let a = q % p.len;
  let o = q / p.len;
  O[i] = X[(o * p.dim + p.start + a) * p.inner + r];
}`;

const padCode = () => `
${PART}
${bindings(["in G: u32", "out O: u32"], "P")}
@compute @workgroup_size(${WG})
fn main(${FLAT_ARGS}) {
  ${flatIndex(WG)}
  if (i >= p.n) { return; }
  ${SPLIT}
  let a = q % p.dim;
  let o = q / p.dim;
  var v = 0u;
  if (a >= p.start && a < p.start + p.len) { v = G[(o * p.len + a - p.start) * p.inner + r]; }
  O[i] = v;
}`;

const placeCode = () => `
${PART}
${bindings(["in X: u32", "out O: u32"], "P")}
@compute @workgroup_size(${WG})
fn main(${FLAT_ARGS}) {
  ${flatIndex(WG)}
  if (i >= p.n) { return; }
  ${SPLIT}
  let a = q % p.len;
  let o = q / p.len;
  O[(o * p.dim + p.start + a) * p.inner + r] = X[i];
}`;

function partParams(n: number, p: AxisPart): ArrayBuffer {
  return packParams([["u32", n], ["u32", p.len], ["u32", p.inner], ["u32", p.dim], ["u32", p.start]]);
}

export function slice(x: Tensor, out: Tensor, part: AxisPart): void {
  launch("slice", sliceCode, [x, out], partParams(out.size, part), grid1d(out.size, WG));
}

export function pad(g: Tensor, out: Tensor, part: AxisPart): void {
  launch("slice_pad", padCode, [g, out], partParams(out.size, part), grid1d(out.size, WG));
}

export function place(x: Tensor, out: Tensor, part: AxisPart): void {
  launch("concat_place", placeCode, [x, out], partParams(x.size, part), grid1d(x.size, WG));
}
