/**
 * Data-movement ops (real copies, any 4-byte dtype: f32, i32, u32): permute / transpose (general rank ≤ 8), slice
 * along one axis, concat along one axis, split, and contiguous copies. Each has its backward rule and an f64
 * reference.
 *
 * Every tensor in this runtime is contiguous (row-major), so `permute` materialises the permuted layout; `view` and
 * `reshape` never move data. Copies whose source or destination is one contiguous run (outer size 1) use a
 * buffer-to-buffer copy instead of a kernel.
 */
import { Tensor } from "../tensor.ts";
import { record } from "../autograd.ts";
import { ShapeMismatchError } from "../errors.ts";
import { GpuContext } from "../gpu/context.ts";
import { contiguousStrides, flatIndex, grid1d, launch, MAX_RANK, packParams } from "./kernel.ts";

const WG = 256;

function checkDtype(op: string, x: Tensor): void {
  if (x.dtype === "f16") throw new ShapeMismatchError(op, "f16 tensors are not supported by copy kernels; cast first");
}

function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ShapeMismatchError(op, `axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** (outer, len, inner) split of a shape around `axis`. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return [outer, shape[axis], inner];
}

// ---------------------------------------------------------------------------------------------------------------
// permute / transpose

const permuteCode = () => `
struct P { n: u32, rank: u32, shape: array<vec4<u32>, 2>, src: array<vec4<u32>, 2> }
@group(0) @binding(0) var<storage, read> X: array<u32>;
@group(0) @binding(1) var<storage, read_write> O: array<u32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
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

function permuteRaw(x: Tensor, perm: number[]): Tensor {
  const outShape = perm.map((d) => x.shape[d]);
  if (perm.every((d, i) => d === i)) return clone(x);
  const out = Tensor.empty(outShape, x.dtype);
  if (out.size === 0) return out;
  const strides = contiguousStrides(x.shape);
  const u = new Uint32Array(4 + 2 * MAX_RANK);
  u[0] = out.size;
  u[1] = perm.length;
  perm.forEach((d, i) => {
    u[4 + i] = outShape[i];
    u[4 + MAX_RANK + i] = strides[d];
  });
  launch("permute", permuteCode, [x, out], u.buffer, grid1d(out.size, WG));
  return out;
}

/** out.shape[i] = x.shape[perm[i]]; out[..., c_i, ...] = x[..., c at axis perm[i], ...]. Negative axes allowed. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  checkDtype("permute", x);
  if (x.rank > MAX_RANK) throw new ShapeMismatchError("permute", `rank ${x.rank} > ${MAX_RANK}`);
  const p = perm.map((a) => normAxis("permute", a, x.rank));
  if (p.length !== x.rank || new Set(p).size !== p.length) {
    throw new ShapeMismatchError("permute", `[${perm}] is not a permutation of the ${x.rank} axes of [${x.shape}]`);
  }
  const out = permuteRaw(x, p);
  const inv = new Array<number>(p.length);
  p.forEach((d, i) => (inv[d] = i));
  // fwd: y = permute(x, p)  →  dx = permute(g, p⁻¹)
  return record(out, "permute", [x], (g) => [permuteRaw(g, inv)]);
}

/** Swap two axes (a copy). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const aa = normAxis("transpose", a, x.rank), bb = normAxis("transpose", b, x.rank);
  const perm = [...x.shape.keys()];
  perm[aa] = bb;
  perm[bb] = aa;
  return permute(x, perm);
}

/** f64 reference. */
export function permuteReference(x: Float64Array, shape: readonly number[], perm: readonly number[]): Float64Array {
  const outShape = perm.map((d) => shape[d]);
  const src = contiguousStrides(shape);
  const out = new Float64Array(x.length);
  for (let i = 0; i < out.length; i++) {
    let rem = i, s = 0;
    for (let d = outShape.length - 1; d >= 0; d--) {
      s += (rem % outShape[d]) * src[perm[d]];
      rem = Math.floor(rem / outShape[d]);
    }
    out[i] = x[s];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// slice and its backward (pad into zeros)

const sliceCode = () => `
struct P { n: u32, len: u32, inner: u32, dimIn: u32, start: u32 }
@group(0) @binding(0) var<storage, read> X: array<u32>;
@group(0) @binding(1) var<storage, read_write> O: array<u32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${flatIndex(WG)}
  if (i >= p.n) { return; }
  let r = i % p.inner;
  let q = i / p.inner;
  let a = q % p.len;
  let o = q / p.len;
  O[i] = X[(o * p.dimIn + p.start + a) * p.inner + r];
}`;

// out (outer, dimOut, inner) = g (outer, len, inner) placed at [start, start + len), zeros elsewhere.
const padCode = () => `
struct P { n: u32, len: u32, inner: u32, dimOut: u32, start: u32 }
@group(0) @binding(0) var<storage, read> G: array<u32>;
@group(0) @binding(1) var<storage, read_write> O: array<u32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${flatIndex(WG)}
  if (i >= p.n) { return; }
  let r = i % p.inner;
  let q = i / p.inner;
  let a = q % p.dimOut;
  let o = q / p.dimOut;
  var v = 0u;
  if (a >= p.start && a < p.start + p.len) { v = G[(o * p.len + a - p.start) * p.inner + r]; }
  O[i] = v;
}`;

function sliceRaw(x: Tensor, axis: number, start: number, end: number): Tensor {
  const [outer, dimIn, inner] = around(x.shape, axis);
  const len = end - start;
  const shape = [...x.shape];
  shape[axis] = len;
  const out = Tensor.empty(shape, x.dtype);
  if (out.size === 0) return out;
  if (outer === 1) {
    GpuContext.current().copy(x.buffer, start * inner * 4, out.buffer, 0, len * inner * 4);
    return out;
  }
  const params = packParams([["u32", out.size], ["u32", len], ["u32", inner], ["u32", dimIn], ["u32", start]]);
  launch("slice", sliceCode, [x, out], params, grid1d(out.size, WG));
  return out;
}

function padRaw(g: Tensor, shape: readonly number[], axis: number, start: number): Tensor {
  const [outer, dimOut, inner] = around(shape, axis);
  const len = g.shape[axis];
  const out = Tensor.empty(shape, g.dtype);
  if (out.size === 0) return out;
  const n = outer * dimOut * inner;
  const params = packParams([["u32", n], ["u32", len], ["u32", inner], ["u32", dimOut], ["u32", start]]);
  launch("slice_pad", padCode, [g, out], params, grid1d(n, WG));
  return out;
}

/** x[..., start:end, ...] along `axis` (a copy). Negative axis/start/end count from the end, as in Python. */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  checkDtype("slice", x);
  const ax = normAxis("slice", axis, x.rank);
  const dim = x.shape[ax];
  const s = start < 0 ? start + dim : start;
  const e = end === undefined ? dim : end < 0 ? end + dim : end;
  if (s < 0 || e > dim || s > e) {
    throw new ShapeMismatchError("slice", `[${start}, ${end ?? dim}) out of range for axis ${axis} of [${x.shape}]`);
  }
  const out = sliceRaw(x, ax, s, e);
  // fwd: y = x[s:e] along ax  →  dx = zeros with g placed at [s:e)
  return record(out, "slice", [x], (g) => [padRaw(g, x.shape, ax, s)]);
}

/** Split along `axis` into pieces of the given sizes (which must sum to the axis length). */
export function split(x: Tensor, sizes: readonly number[], axis: number): Tensor[] {
  const ax = normAxis("split", axis, x.rank);
  if (sizes.reduce((a, b) => a + b, 0) !== x.shape[ax]) {
    throw new ShapeMismatchError("split", `sizes [${sizes}] do not sum to axis ${axis} of [${x.shape}]`);
  }
  let off = 0;
  return sizes.map((n) => slice(x, ax, off, off += n));
}

/** f64 reference. */
export function sliceReference(
  x: Float64Array,
  shape: readonly number[],
  axis: number,
  start: number,
  end: number,
): Float64Array {
  const [outer, dim, inner] = around(shape, axis);
  const len = end - start;
  const out = new Float64Array(outer * len * inner);
  for (let o = 0; o < outer; o++) {
    out.set(x.subarray((o * dim + start) * inner, (o * dim + end) * inner), o * len * inner);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// concat

// Place x (outer, len, inner) into out (outer, dimOut, inner) at axis offset `off`.
const placeCode = () => `
struct P { n: u32, len: u32, inner: u32, dimOut: u32, off: u32 }
@group(0) @binding(0) var<storage, read> X: array<u32>;
@group(0) @binding(1) var<storage, read_write> O: array<u32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${flatIndex(WG)}
  if (i >= p.n) { return; }
  let r = i % p.inner;
  let q = i / p.inner;
  let a = q % p.len;
  let o = q / p.len;
  O[(o * p.dimOut + p.off + a) * p.inner + r] = X[i];
}`;

/** Concatenate along `axis`; all other dims must agree. Backward slices the gradient back to each input. */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new ShapeMismatchError("concat", "no tensors given");
  const first = xs[0];
  const ax = normAxis("concat", axis, first.rank);
  for (const x of xs) {
    checkDtype("concat", x);
    if (x.rank !== first.rank || x.dtype !== first.dtype || x.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new ShapeMismatchError("concat", `[${x.shape}] (${x.dtype}) vs [${first.shape}] along axis ${axis}`);
    }
  }
  const shape = [...first.shape];
  shape[ax] = xs.reduce((a, x) => a + x.shape[ax], 0);
  const out = Tensor.empty(shape, first.dtype);
  const [outer, dimOut, inner] = around(shape, ax);
  let off = 0;
  const offsets: number[] = [];
  for (const x of xs) {
    offsets.push(off);
    const len = x.shape[ax];
    if (x.size > 0) {
      if (outer === 1) GpuContext.current().copy(x.buffer, 0, out.buffer, off * inner * 4, x.size * 4);
      else {
        const params = packParams([["u32", x.size], ["u32", len], ["u32", inner], ["u32", dimOut], ["u32", off]]);
        launch("concat_place", placeCode, [x, out], params, grid1d(x.size, WG));
      }
    }
    off += len;
  }
  // fwd: y = [x₀ | x₁ | …] along ax  →  dxᵢ = g[offᵢ : offᵢ + lenᵢ] along ax
  return record(
    out,
    "concat",
    [...xs],
    (g) => xs.map((x, i) => (x.requiresGrad ? sliceRaw(g, ax, offsets[i], offsets[i] + x.shape[ax]) : null)),
  );
}

/** f64 reference. */
export function concatReference(
  xs: Float64Array[],
  shapes: readonly (readonly number[])[],
  axis: number,
): Float64Array {
  const total = shapes.reduce((a, s) => a + s[axis], 0);
  const [outer, , inner] = around(shapes[0], axis);
  const out = new Float64Array(outer * total * inner);
  let off = 0;
  xs.forEach((x, k) => {
    const len = shapes[k][axis];
    for (let o = 0; o < outer; o++) {
      out.set(x.subarray(o * len * inner, (o + 1) * len * inner), (o * total + off) * inner);
    }
    off += len;
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// copies

/** A fresh copy of x's storage (no tape). */
function clone(x: Tensor): Tensor {
  const out = Tensor.empty(x.shape, x.dtype);
  const bytes = Math.ceil((x.size * (x.dtype === "f16" ? 2 : 4)) / 4) * 4;
  if (bytes > 0) GpuContext.current().copy(x.buffer, 0, out.buffer, 0, bytes);
  return out;
}

/**
 * A contiguous copy with its own storage (so a caller may hand it to an in-place kernel, e.g. an optimiser state).
 * Tensors here are always contiguous, so this is a plain buffer copy; the gradient passes through unchanged.
 */
export function contiguous(x: Tensor): Tensor {
  const out = clone(x);
  // fwd: y = x  →  dx = g
  return record(out, "contiguous", [x], (g) => [g]);
}
