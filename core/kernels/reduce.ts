/** Raw reductions (no tape): sum / max over any set of axes, the broadcast-gradient helpers built on them. */
import { Tensor } from "../tensor.ts";
import { ShapeMismatchError } from "../errors.ts";
import { kernelsOf } from "./backend.ts";
import { collapseAxes, contiguousStrides, MAX_RANK, sameShape } from "./shapes.ts";
import type { ReduceKind, ReducePlan } from "./types.ts";
import { binaryRaw, full } from "./elementwise.ts";

/** Reduce x over `axes` (sorted, distinct); keepDims keeps them as size 1. */
export function reduceRaw(kind: ReduceKind, x: Tensor, axes: readonly number[], keepDims: boolean): Tensor {
  const { device, k } = kernelsOf(kind, x);
  const strides = contiguousStrides(x.shape);
  const keptAxes = [...x.shape.keys()].filter((d) => !axes.includes(d));
  const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : keptAxes.map((d) => x.shape[d]);
  const out = Tensor.empty(outShape, "f32", device);
  if (out.size === 0) return out;
  const kept = collapseAxes(keptAxes.map((d) => x.shape[d]), [keptAxes.map((d) => strides[d])]);
  const red = collapseAxes(axes.map((d) => x.shape[d]), [axes.map((d) => strides[d])]);
  if (kept.shape.length > MAX_RANK || red.shape.length > MAX_RANK) throw new Error(`reduce: rank > ${MAX_RANK}`);
  const plan: ReducePlan = {
    nOut: out.size,
    nRed: red.shape.reduce((a, b) => a * b, 1),
    keptShape: kept.shape,
    keptStrides: kept.strides[0],
    redShape: red.shape,
    redStrides: red.strides[0],
  };
  k.reduce(kind, x, out, plan);
  return out;
}

/** Broadcast a keepDims-shaped gradient back to `shape` (through the broadcasting add kernel). */
export function expandTo(g: Tensor, shape: readonly number[]): Tensor {
  const zeros = full(shape, 0, g.device);
  const out = binaryRaw("add", zeros, g);
  zeros.dispose();
  return out;
}

/** Sum a broadcast gradient down to `shape` (inverse of NumPy broadcasting). */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const off = g.rank - shape.length;
  if (off < 0) throw new ShapeMismatchError("sumToShape", `[${g.shape}] -> [${shape}]`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < off || (shape[i - off] === 1 && g.shape[i] !== 1)) axes.push(i);
  const r = axes.length ? reduceRaw("sum", g, axes, true) : g;
  return r.view(shape);
}
