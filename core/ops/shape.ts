/**
 * Data-movement ops (real copies, any 4-byte dtype: f32, i32, u32): permute / transpose (general rank ≤ 8), slice
 * along one axis, concat along one axis, split, and contiguous copies. Each has its backward rule and an f64
 * reference.
 *
 * Every tensor in this runtime is contiguous (row-major), so `permute` materialises the permuted layout; `view` and
 * `reshape` never move data. Copies whose source or destination is one contiguous run (outer size 1) use a
 * buffer-to-buffer copy instead of a kernel.
 */
import type { Tensor } from "../tensor.ts";
import { record } from "../tape.ts";
import { ShapeMismatchError } from "../errors.ts";
import { cloneRaw } from "../kernels/elementwise.ts";
import { around, concatRaw, padRaw, permuteRaw, sliceRaw } from "../kernels/layout.ts";
import { contiguousStrides, MAX_RANK } from "../kernels/shapes.ts";

function checkDtype(op: string, x: Tensor): void {
  if (x.dtype === "f16") throw new ShapeMismatchError(op, "f16 tensors are not supported by copy kernels; cast first");
}

function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ShapeMismatchError(op, `axis ${axis} out of range for rank ${rank}`);
  return a;
}

// ---------------------------------------------------------------------------------------------------------------
// permute / transpose

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
// slice (its backward pads into zeros)

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
  const { out, offsets } = concatRaw(xs, ax);
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

/**
 * A contiguous copy with its own storage (so a caller may hand it to an in-place kernel, e.g. an optimiser state).
 * Tensors here are always contiguous, so this is a plain buffer copy; the gradient passes through unchanged.
 */
export function contiguous(x: Tensor): Tensor {
  const out = cloneRaw(x);
  // fwd: y = x  →  dx = g
  return record(out, "contiguous", [x], (g) => [g]);
}
