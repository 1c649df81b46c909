/**
 * Elementwise binary ops with NumPy broadcasting: add, sub, mul, div, maximum, minimum, and comparisons (no grad).
 * A number operand becomes a scalar uniform (no tensor is made for it).
 * Backward of a broadcast input sums the gradient over the broadcast axes (sumToShape).
 */
import type { Tensor } from "../tensor.ts";
import { record } from "../tape.ts";
import { binaryRaw } from "../kernels/elementwise.ts";
import { sumToShape } from "../kernels/reduce.ts";
import { broadcastShapes, broadcastStrides } from "../kernels/shapes.ts";
import type { BinaryOpName } from "../kernels/types.ts";
import { neg, unaryScalar } from "./unary.ts";

export { type BinaryOpName, binaryRaw };

/** a + b with broadcasting (a number adds a scalar). */
export function add(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === "number") return unaryScalar("addScalar", a, b);
  const out = binaryRaw("add", a, b);
  // fwd: y = a + b  →  da = g, db = g (summed over broadcast axes)
  return record(out, "add", [a, b], (g) => [sumToShape(g, a.shape), sumToShape(g, b.shape)]);
}

/** a − b with broadcasting. */
export function sub(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === "number") return unaryScalar("addScalar", a, -b);
  const out = binaryRaw("sub", a, b);
  // fwd: y = a - b  →  da = g, db = -g
  return record(
    out,
    "sub",
    [a, b],
    (g) => [sumToShape(g, a.shape), b.requiresGrad ? sumToShape(neg(g), b.shape) : null],
  );
}

/** a · b elementwise with broadcasting. */
export function mul(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === "number") return unaryScalar("mulScalar", a, b);
  const out = binaryRaw("mul", a, b);
  // fwd: y = a * b  →  da = g * b, db = g * a
  return record(out, "mul", [a, b], (g) => [
    a.requiresGrad ? sumToShape(binaryRaw("mul", g, b), a.shape) : null,
    b.requiresGrad ? sumToShape(binaryRaw("mul", g, a), b.shape) : null,
  ]);
}

/** a / b elementwise with broadcasting. */
export function div(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === "number") return unaryScalar("mulScalar", a, 1 / b);
  const out = binaryRaw("div", a, b);
  // fwd: y = a / b  →  da = g / b, db = -g * a / b² = -g * y / b
  return record(out, "div", [a, b], (g) => [
    a.requiresGrad ? sumToShape(binaryRaw("div", g, b), a.shape) : null,
    b.requiresGrad ? sumToShape(neg(binaryRaw("div", binaryRaw("mul", g, out), b)), b.shape) : null,
  ]);
}

/** Elementwise max; the gradient goes to `a` where a ≥ b, else to `b`. */
export function maximum(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw("maximum", a, b);
  return record(out, "maximum", [a, b], (g) => {
    const ma = binaryRaw("eq", out, a); // 1 where a won (ties go to a)
    const ga = binaryRaw("mul", g, ma);
    return [sumToShape(ga, a.shape), sumToShape(binaryRaw("sub", g, ga), b.shape)];
  });
}

/** Elementwise min; the gradient goes to `a` where a ≤ b, else to `b`. */
export function minimum(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw("minimum", a, b);
  return record(out, "minimum", [a, b], (g) => {
    const ma = binaryRaw("eq", out, a);
    const ga = binaryRaw("mul", g, ma);
    return [sumToShape(ga, a.shape), sumToShape(binaryRaw("sub", g, ga), b.shape)];
  });
}

/** 1.0 where a == b else 0.0 (no gradient). */
export function equal(a: Tensor, b: Tensor): Tensor {
  return binaryRaw("eq", a, b);
}
/** 1.0 where a > b else 0.0 (no gradient). */
export function greater(a: Tensor, b: Tensor): Tensor {
  return binaryRaw("gt", a, b);
}
/** 1.0 where a < b else 0.0 (no gradient). */
export function less(a: Tensor, b: Tensor): Tensor {
  return binaryRaw("lt", a, b);
}

/** f64 reference with broadcasting. */
export function binaryReference(
  op: BinaryOpName,
  a: Float64Array,
  aShape: readonly number[],
  b: Float64Array,
  bShape: readonly number[],
): { data: Float64Array; shape: number[] } {
  const shape = broadcastShapes(op, aShape, bShape);
  const sa = broadcastStrides(aShape, shape);
  const sb = broadcastStrides(bShape, shape);
  const n = shape.reduce((x, y) => x * y, 1);
  const data = new Float64Array(n);
  const f: Record<BinaryOpName, (x: number, y: number) => number> = {
    add: (x, y) => x + y,
    sub: (x, y) => x - y,
    mul: (x, y) => x * y,
    div: (x, y) => x / y,
    maximum: Math.max,
    minimum: Math.min,
    eq: (x, y) => (x === y ? 1 : 0),
    gt: (x, y) => (x > y ? 1 : 0),
    lt: (x, y) => (x < y ? 1 : 0),
  };
  for (let i = 0; i < n; i++) {
    let rem = i, ia = 0, ib = 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      const c = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      ia += c * sa[d];
      ib += c * sb[d];
    }
    data[i] = f[op](a[ia], b[ib]);
  }
  return { data, shape };
}
