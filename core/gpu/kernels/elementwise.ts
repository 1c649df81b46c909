/** WGSL elementwise kernels: fill, copy, binary (same-shape and broadcast), unary, where, cast. */
import { GpuContext } from "../context.ts";
import { GpuFeatureMissingError } from "../../errors.ts";
import { bindings } from "../wgsl.ts";
import { FLAT_ARGS, flatIndex, flatMain, grid1d, launch, packParams } from "../launch.ts";
import { MAX_RANK } from "../../kernels/shapes.ts";
import type { BinaryOpName, BroadcastPlan, UnaryName } from "../../kernels/types.ts";
import type { DType, Tensor } from "../../tensor.ts";

const WG = 256;

const fillCode = () => `
struct P { n: u32, value: f32 }
${bindings(["out O"], "P")}
@compute @workgroup_size(${WG})
fn main(${FLAT_ARGS}) {
  ${flatIndex(WG)}
  if (i < p.n) { O[i] = p.value; }
}`;

export function fill(out: Tensor, value: number): void {
  launch("fill", fillCode, [out], packParams([["u32", out.size], ["f32", value]]), grid1d(out.size, WG));
}

export function copy(src: Tensor, srcOffset: number, dst: Tensor, dstOffset: number, bytes: number): void {
  GpuContext.current().copy(src.buffer, srcOffset, dst.buffer, dstOffset, bytes);
}

const BINARY: Record<BinaryOpName, string> = {
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

function sameCode(op: BinaryOpName) {
  return () => `
struct P { n: u32 }
${bindings(["in A", "in B", "out O"], "P")}
${flatMain(WG)}
  let a = A[i];
  let b = B[i];
  O[i] = ${BINARY[op]};
}`;
}

/** WGSL: decompose flat index i over p.shape (rank p.rank) into one offset per stride table. */
function offsets(tables: string[]): string {
  return `var rem = i;
  ${tables.map((t) => `var i${t} = 0u;`).join(" ")}
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = p.shape[d / 4][d % 4];
    let c = rem % dim;
    rem = rem / dim;
    ${tables.map((t) => `i${t} += c * p.s${t}[d / 4][d % 4];`).join(" ")}
  }`;
}

function broadcastCode(op: BinaryOpName) {
  return () => `
struct P { n: u32, rank: u32, shape: array<vec4<u32>, 2>, sa: array<vec4<u32>, 2>, sb: array<vec4<u32>, 2> }
${bindings(["in A", "in B", "out O"], "P")}
${flatMain(WG)}
  ${offsets(["a", "b"])}
  let a = A[ia];
  let b = B[ib];
  O[i] = ${BINARY[op]};
}`;
}

/** Uniform words: n, rank, (2 free), then shape and each stride table padded to MAX_RANK. */
function tableParams(n: number, plan: BroadcastPlan, head: number[] = []): ArrayBuffer {
  const u = new Uint32Array(4 + (1 + plan.strides.length) * MAX_RANK);
  u[0] = n;
  u[1] = plan.shape.length;
  head.forEach((v, i) => (u[2 + i] = v));
  [plan.shape, ...plan.strides].forEach((t, k) => t.forEach((v, i) => (u[4 + k * MAX_RANK + i] = v)));
  return u.buffer;
}

export function binary(op: BinaryOpName, a: Tensor, b: Tensor, out: Tensor, plan: BroadcastPlan | null): void {
  if (!plan) {
    launch(`bin_same_${op}`, sameCode(op), [a, b, out], packParams([["u32", out.size]]), grid1d(out.size, WG));
  } else {
    launch(`bin_bc_${op}`, broadcastCode(op), [a, b, out], tableParams(out.size, plan), grid1d(out.size, WG));
  }
}

/** Abramowitz & Stegun 7.1.26 erf (|error| ≤ 1.5e-7), the same formula on both devices. */
const ERF_WGSL = `
fn erf_approx(x: f32) -> f32 {
  let ax = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * ax);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-ax * ax);
  return select(-y, y, x >= 0.0);
}
fn tanh_safe(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }
fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
`;

/** y in terms of x and the scalar s. */
const UNARY: Record<UnaryName, string> = {
  exp: "exp(x)",
  log: "log(x)",
  recip: "1.0 / x",
  drecip: "-1.0 / (x * x)",
  sqrt: "sqrt(x)",
  dsqrt: "0.5 / sqrt(x)",
  rsqrt: "inverseSqrt(x)",
  drsqrt: "-0.5 * inverseSqrt(x) / x",
  abs: "abs(x)",
  sign: "sign(x)",
  neg: "-x",
  negOne: "-1.0",
  tanh: "tanh_safe(x)",
  dtanh: "1.0 - tanh_safe(x) * tanh_safe(x)",
  sigmoid: "sigmoid(x)",
  dsigmoid: "sigmoid(x) * (1.0 - sigmoid(x))",
  silu: "x * sigmoid(x)",
  dsilu: "sigmoid(x) * (1.0 + x * (1.0 - sigmoid(x)))",
  relu: "max(x, 0.0)",
  step: "select(0.0, 1.0, x > 0.0)",
  geluErf: "0.5 * x * (1.0 + erf_approx(x * 0.70710678118654752))",
  dgeluErf: "0.5 * (1.0 + erf_approx(x * 0.70710678118654752)) + x * exp(-0.5 * x * x) * 0.39894228040143268",
  geluTanh: "0.5 * x * (1.0 + tanh_safe(0.7978845608028654 * (x + 0.044715 * x * x * x)))",
  dgeluTanh: `0.5 * (1.0 + tanh_safe(0.7978845608028654 * (x + 0.044715 * x * x * x))) +
      0.5 * x * (1.0 - pow(tanh_safe(0.7978845608028654 * (x + 0.044715 * x * x * x)), 2.0)) *
      0.7978845608028654 * (1.0 + 3.0 * 0.044715 * x * x)`,
  addScalar: "x + s",
  one: "1.0",
  mulScalar: "x * s",
  constS: "s",
  // WGSL pow(x < 0) is NaN: odd/even integer exponents of negative bases are handled by sign.
  pow: "select(pow(x, s), pow(abs(x), s) * select(1.0, -1.0, fract(s * 0.5) != 0.0), x < 0.0 && fract(s) == 0.0)",
  dpow:
    "s * select(pow(x, s - 1.0), pow(abs(x), s - 1.0) * select(1.0, -1.0, fract((s - 1.0) * 0.5) != 0.0), x < 0.0 && fract(s) == 0.0)",
};

function unaryCode(name: UnaryName) {
  return () => `
${ERF_WGSL}
struct P { n: u32, s: f32 }
${bindings(["in X", "out O"], "P")}
${flatMain(WG)}
  let x = X[i];
  let s = p.s;
  O[i] = ${UNARY[name]};
}`;
}

export function unary(name: UnaryName, x: Tensor, out: Tensor, s: number): void {
  launch(`unary_${name}`, unaryCode(name), [x, out], packParams([["u32", x.size], ["f32", s]]), grid1d(x.size, WG));
}

function whereCode(aScalar: boolean, bScalar: boolean) {
  return () => `
struct P { n: u32, rank: u32, av: f32, bv: f32,
  shape: array<vec4<u32>, 2>, sc: array<vec4<u32>, 2>, sa: array<vec4<u32>, 2>, sb: array<vec4<u32>, 2> }
${bindings(["in C", "in A", "in B", "out O"], "P")}
${flatMain(WG)}
  _ = A[0];
  _ = B[0];
  ${offsets(["c", "a", "b"])}
  let a = ${aScalar ? "p.av" : "A[ia]"};
  let b = ${bScalar ? "p.bv" : "B[ib]"};
  O[i] = select(b, a, C[ic] != 0.0);
}`;
}

export function where(cond: Tensor, a: Tensor | number, b: Tensor | number, out: Tensor, plan: BroadcastPlan): void {
  const aS = typeof a === "number", bS = typeof b === "number";
  const u = tableParams(out.size, plan);
  const f = new Float32Array(u);
  f[2] = aS ? a : 0;
  f[3] = bS ? b : 0;
  const bufs = [cond, aS ? cond : a, bS ? cond : b, out];
  launch(`where_${+aS}${+bS}`, whereCode(aS, bS), bufs, u, grid1d(out.size, WG));
}

const WGSL_TYPE: Record<DType, string> = { f32: "f32", f16: "f16", i32: "i32", u32: "u32" };

function castCode(from: DType, to: DType) {
  const f16 = from === "f16" || to === "f16";
  return () =>
    `${f16 ? "enable f16;" : ""}
struct P { n: u32 }
${bindings([`in X: ${WGSL_TYPE[from]}`, `out O: ${WGSL_TYPE[to]}`], "P")}
${flatMain(WG)}
  O[i] = ${WGSL_TYPE[to]}(X[i]);
}`;
}

export function cast(x: Tensor, out: Tensor): void {
  if ((x.dtype === "f16" || out.dtype === "f16") && !GpuContext.current().hasF16) {
    throw new GpuFeatureMissingError("shader-f16", `cast ${x.dtype} → ${out.dtype}`);
  }
  const key = `cast_${x.dtype}_${out.dtype}`;
  launch(key, castCode(x.dtype, out.dtype), [x, out], packParams([["u32", x.size]]), grid1d(x.size, WG));
}
