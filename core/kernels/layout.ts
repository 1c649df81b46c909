/**
 * Raw data-movement kernels (no tape) over 4-byte dtypes: permute, slice along one axis, pad (slice's backward),
 * concat. Copies whose source or destination is one contiguous run (outer size 1) are plain byte copies.
 */
import { Tensor } from "../tensor.ts";
import { kernelsOf } from "./backend.ts";
import { cloneRaw } from "./elementwise.ts";
import { contiguousStrides } from "./shapes.ts";
import type { AxisPart } from "./types.ts";

/** (outer, len, inner) split of a shape around `axis`. */
export function around(shape: readonly number[], axis: number): [number, number, number] {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return [outer, shape[axis], inner];
}

/** out.shape[i] = x.shape[perm[i]] (perm already validated). */
export function permuteRaw(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.every((d, i) => d === i)) return cloneRaw(x);
  const { device, k } = kernelsOf("permute", x);
  const out = Tensor.empty(perm.map((d) => x.shape[d]), x.dtype, device);
  if (out.size === 0) return out;
  const strides = contiguousStrides(x.shape);
  k.permute(x, out, perm.map((d) => strides[d]));
  return out;
}

/** x[..., start:end, ...] along `axis` (in range). */
export function sliceRaw(x: Tensor, axis: number, start: number, end: number): Tensor {
  const { device, k } = kernelsOf("slice", x);
  const [outer, dim, inner] = around(x.shape, axis);
  const len = end - start;
  const shape = [...x.shape];
  shape[axis] = len;
  const out = Tensor.empty(shape, x.dtype, device);
  if (out.size === 0) return out;
  if (outer === 1) k.copy(x, start * inner * 4, out, 0, len * inner * 4);
  else k.slice(x, out, { outer, inner, len, dim, start });
  return out;
}

/** Zeros of `shape` with g placed at [start, start + g.shape[axis]) along `axis`. */
export function padRaw(g: Tensor, shape: readonly number[], axis: number, start: number): Tensor {
  const { device, k } = kernelsOf("slice backward", g);
  const [outer, dim, inner] = around(shape, axis);
  const out = Tensor.empty(shape, g.dtype, device);
  if (out.size > 0) k.pad(g, out, { outer, inner, len: g.shape[axis], dim, start });
  return out;
}

/** Concatenate (validated) tensors along `axis`; returns the result and each input's offset along the axis. */
export function concatRaw(xs: readonly Tensor[], axis: number): { out: Tensor; offsets: number[] } {
  const { device, k } = kernelsOf("concat", ...xs);
  const shape = [...xs[0].shape];
  shape[axis] = xs.reduce((a, x) => a + x.shape[axis], 0);
  const out = Tensor.empty(shape, xs[0].dtype, device);
  const [outer, dim, inner] = around(shape, axis);
  const offsets: number[] = [];
  let off = 0;
  for (const x of xs) {
    offsets.push(off);
    const len = x.shape[axis];
    if (x.size > 0) {
      if (outer === 1) k.copy(x, 0, out, off * inner * 4, x.size * 4);
      else k.place(x, out, { outer, inner, len, dim, start: off } satisfies AxisPart);
    }
    off += len;
  }
  return { out, offsets };
}
