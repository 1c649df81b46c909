/**
 * Elementwise binary ops with NumPy broadcasting: add, sub, mul, div, maximum, minimum, and comparisons (no grad).
 * A number operand becomes a scalar uniform (no tensor is made for it).
 * Backward of a broadcast input sums the gradient over the broadcast axes (sumToShape).
 */
import { Tensor } from "../tensor.ts";
import { record } from "../autograd.ts";
import {
  broadcastShapes,
  broadcastStrides,
  flatIndex,
  grid1d,
  launch,
  MAX_RANK,
  packParams,
  sameShape,
} from "./kernel.ts";
import { sumToShape } from "./reduce.ts";
import { neg, unaryScalar } from "./unary.ts";

export type BinaryOpName = "add" | "sub" | "mul" | "div" | "maximum" | "minimum" | "eq" | "gt" | "lt";

const EXPR: Record<BinaryOpName, string> = {
  add: "a + b",
  sub: "a - b",
  mul: "a * b",
  div: "a / b",
  maximum: "max(a, b)",
  minimum: "min(a, b)",
  eq: "select(0.0, 1.0, a == b)",
  gt: "select(0.0, 1.0, a > b)",
  lt: "select(0.0, 1.0, a < b)",
};

const WG = 256;

function sameCode(op: BinaryOpName) {
  return () => `
struct P { n: u32 }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${flatIndex(WG)}
  if (i >= p.n) { return; }
  let a = A[i];
  let b = B[i];
  O[i] = ${EXPR[op]};
}`;
}

function broadcastCode(op: BinaryOpName) {
  return () => `
struct P { n: u32, rank: u32, shape: array<vec4<u32>, 2>, sa: array<vec4<u32>, 2>, sb: array<vec4<u32>, 2> }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${flatIndex(WG)}
  if (i >= p.n) { return; }
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = p.shape[d / 4][d % 4];
    let c = rem % dim;
    rem = rem / dim;
    ia += c * p.sa[d / 4][d % 4];
    ib += c * p.sb[d / 4][d % 4];
  }
  let a = A[ia];
  let b = B[ib];
  O[i] = ${EXPR[op]};
}`;
}

function tableParams(n: number, outShape: number[], sa: number[], sb: number[]): ArrayBuffer {
  const u = new Uint32Array(4 + 3 * MAX_RANK);
  u[0] = n;
  u[1] = outShape.length;
  outShape.forEach((d, i) => (u[4 + i] = d));
  sa.forEach((d, i) => (u[4 + MAX_RANK + i] = d));
  sb.forEach((d, i) => (u[4 + 2 * MAX_RANK + i] = d));
  return u.buffer;
}

/** Forward only (no tape). */
export function binaryRaw(op: BinaryOpName, a: Tensor, b: Tensor): Tensor {
  const outShape = broadcastShapes(op, a.shape, b.shape);
  const out = Tensor.empty(outShape);
  if (out.size === 0) return out;
  if (sameShape(a.shape, b.shape)) {
    launch(`bin_same_${op}`, sameCode(op), [a, b, out], packParams([["u32", out.size]]), grid1d(out.size, WG));
  } else {
    if (outShape.length > MAX_RANK) throw new Error(`${op}: rank > ${MAX_RANK} not supported`);
    const params = tableParams(
      out.size,
      outShape,
      broadcastStrides(a.shape, outShape),
      broadcastStrides(b.shape, outShape),
    );
    launch(`bin_bc_${op}`, broadcastCode(op), [a, b, out], params, grid1d(out.size, WG));
  }
  return out;
}

export function add(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === "number") return unaryScalar("addScalar", a, b);
  const out = binaryRaw("add", a, b);
  // fwd: y = a + b  →  da = g, db = g (summed over broadcast axes)
  return record(out, "add", [a, b], (g) => [sumToShape(g, a.shape), sumToShape(g, b.shape)]);
}

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

export function mul(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === "number") return unaryScalar("mulScalar", a, b);
  const out = binaryRaw("mul", a, b);
  // fwd: y = a * b  →  da = g * b, db = g * a
  return record(out, "mul", [a, b], (g) => [
    a.requiresGrad ? sumToShape(binaryRaw("mul", g, b), a.shape) : null,
    b.requiresGrad ? sumToShape(binaryRaw("mul", g, a), b.shape) : null,
  ]);
}

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
export function greater(a: Tensor, b: Tensor): Tensor {
  return binaryRaw("gt", a, b);
}
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
