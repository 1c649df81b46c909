/**
 * Reductions over any set of axes: sum, mean, max (values), with their backward rules and an f64 reference. The
 * kernels (core/kernels/reduce.ts) handle both "many short rows" and "one long row".
 */
import type { Tensor } from "../tensor.ts";
import { record } from "../tape.ts";
import { binaryRaw, unaryRaw } from "../kernels/elementwise.ts";
import { expandTo, reduceRaw, sumToShape } from "../kernels/reduce.ts";
import { contiguousStrides, normAxes } from "../kernels/shapes.ts";

export { sumToShape };

/** Σ over `axes` (default all); keepDims keeps them as size 1. */
export function sum(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  const ax = normAxes("sum", axes, x.rank);
  const out = reduceRaw("sum", x, ax, keepDims);
  // fwd: y = Σ_axes x  →  dx = broadcast(g)
  return record(out, "sum", [x], (g) => {
    const gk = g.view(x.shape.map((d, i) => (ax.includes(i) ? 1 : d)));
    return [expandTo(gk, x.shape)];
  });
}

/** Mean over `axes` (default all); keepDims keeps them as size 1. */
export function mean(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  const ax = normAxes("mean", axes, x.rank);
  const n = ax.reduce((a, d) => a * x.shape[d], 1);
  const s = reduceRaw("sum", x, ax, keepDims);
  const out = unaryRaw("mulScalar", s, 1 / n);
  s.dispose();
  // fwd: y = Σ_axes x / n  →  dx = broadcast(g) / n
  return record(out, "mean", [x], (g) => {
    const gk = g.view(x.shape.map((d, i) => (ax.includes(i) ? 1 : d)));
    return [unaryRaw("mulScalar", expandTo(gk, x.shape), 1 / n)];
  });
}

/** Max values over axes; the gradient is split evenly among tied maxima. */
export function max(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  const ax = normAxes("max", axes, x.rank);
  const out = reduceRaw("max", x, ax, keepDims);
  return record(out, "max", [x], (g) => {
    const keptShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
    const mask = binaryRaw("eq", x, out.view(keptShape)); // 1 at maxima
    const count = reduceRaw("sum", mask, ax, true);
    return [binaryRaw("mul", mask, binaryRaw("div", g.view(keptShape), count))];
  });
}

/** f64 reference for sum/max over axes (keepDims shape). */
export function reduceReference(
  kind: "sum" | "mean" | "max",
  x: Float64Array,
  shape: readonly number[],
  axes: number[],
): Float64Array {
  const strides = contiguousStrides(shape);
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outStrides = contiguousStrides(outShape);
  const n = outShape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n).fill(kind === "max" ? -Infinity : 0);
  const count = axes.reduce((a, d) => a * shape[d], 1);
  for (let i = 0; i < x.length; i++) {
    let o = 0;
    for (let d = 0; d < shape.length; d++) {
      const c = Math.floor(i / strides[d]) % shape[d];
      if (!axes.includes(d)) o += c * outStrides[d];
    }
    out[o] = kind === "max" ? Math.max(out[o], x[i]) : out[o] + x[i];
  }
  if (kind === "mean") { for (let i = 0; i < n; i++) out[i] /= count; }
  return out;
}
