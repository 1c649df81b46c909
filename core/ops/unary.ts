/**
 * Elementwise unary ops: exp, log, sqrt, rsqrt, abs, tanh, sigmoid, neg, silu, gelu (erf and tanh forms), pow with a
 * scalar exponent, and scalar add/mul. Each entry: WGSL expression in `x` (and scalar `s`), the derivative dy/dx
 * as another table entry, and an f64 reference.
 */
import { Tensor } from "../tensor.ts";
import { record } from "../autograd.ts";
import { flatIndex, grid1d, launch, packParams } from "./kernel.ts";
import { binaryRaw } from "./binary.ts";

interface UnaryDef {
  wgsl: string;
  ref: (x: number, s: number) => number;
  /** Name of the entry computing dy/dx from x (and s); undefined for ops without gradient. */
  grad?: string;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Abramowitz & Stegun 7.1.26 erf (|error| ≤ 1.5e-7), the same formula on both sides. */
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

export function erfReference(x: number): number {
  // f64 series/continued-fraction-free: use A&S 7.1.26 on the f64 side too would hide errors, so use a
  // high-precision erf (W. J. Cody style via Math functions) — here: Taylor for small |x|, asymptotic otherwise.
  const ax = Math.abs(x);
  let r: number;
  if (ax < 2.5) {
    let term = ax, sum = ax;
    for (let n = 1; n < 80; n++) {
      term *= -ax * ax / n;
      sum += term / (2 * n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // continued fraction for erfc
    let f = 0;
    for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
    r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  }
  return x < 0 ? -r : r;
}

const sig = (x: number) => 1 / (1 + Math.exp(-x));

export const UNARY: Record<string, UnaryDef> = {
  exp: { wgsl: "exp(x)", ref: Math.exp, grad: "exp" },
  log: { wgsl: "log(x)", ref: Math.log, grad: "recip" },
  recip: { wgsl: "1.0 / x", ref: (x) => 1 / x, grad: "drecip" },
  drecip: { wgsl: "-1.0 / (x * x)", ref: (x) => -1 / (x * x) },
  sqrt: { wgsl: "sqrt(x)", ref: Math.sqrt, grad: "dsqrt" },
  dsqrt: { wgsl: "0.5 / sqrt(x)", ref: (x) => 0.5 / Math.sqrt(x) },
  rsqrt: { wgsl: "inverseSqrt(x)", ref: (x) => 1 / Math.sqrt(x), grad: "drsqrt" },
  drsqrt: { wgsl: "-0.5 * inverseSqrt(x) / x", ref: (x) => -0.5 / (x * Math.sqrt(x)) },
  abs: { wgsl: "abs(x)", ref: Math.abs, grad: "sign" },
  sign: { wgsl: "sign(x)", ref: Math.sign },
  neg: { wgsl: "-x", ref: (x) => -x, grad: "negOne" },
  negOne: { wgsl: "-1.0", ref: () => -1 },
  tanh: { wgsl: "tanh_safe(x)", ref: Math.tanh, grad: "dtanh" },
  dtanh: { wgsl: "1.0 - tanh_safe(x) * tanh_safe(x)", ref: (x) => 1 - Math.tanh(x) ** 2 },
  sigmoid: { wgsl: "sigmoid(x)", ref: sig, grad: "dsigmoid" },
  dsigmoid: { wgsl: "sigmoid(x) * (1.0 - sigmoid(x))", ref: (x) => sig(x) * (1 - sig(x)) },
  silu: { wgsl: "x * sigmoid(x)", ref: (x) => x * sig(x), grad: "dsilu" },
  dsilu: { wgsl: "sigmoid(x) * (1.0 + x * (1.0 - sigmoid(x)))", ref: (x) => sig(x) * (1 + x * (1 - sig(x))) },
  relu: { wgsl: "max(x, 0.0)", ref: (x) => Math.max(x, 0), grad: "step" },
  step: { wgsl: "select(0.0, 1.0, x > 0.0)", ref: (x) => (x > 0 ? 1 : 0) },
  // fwd: y = x/2 · (1 + erf(x/√2))
  geluErf: {
    wgsl: "0.5 * x * (1.0 + erf_approx(x * 0.70710678118654752))",
    ref: (x) => 0.5 * x * (1 + erfReference(x / Math.SQRT2)),
    grad: "dgeluErf",
  },
  // dy/dx = Φ(x) + x·φ(x)
  dgeluErf: {
    wgsl: "0.5 * (1.0 + erf_approx(x * 0.70710678118654752)) + x * exp(-0.5 * x * x) * 0.39894228040143268",
    ref: (x) => 0.5 * (1 + erfReference(x / Math.SQRT2)) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI),
  },
  // fwd: y = x/2 · (1 + tanh(√(2/π)(x + 0.044715x³)))
  geluTanh: {
    wgsl: "0.5 * x * (1.0 + tanh_safe(0.7978845608028654 * (x + 0.044715 * x * x * x)))",
    ref: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))),
    grad: "dgeluTanh",
  },
  dgeluTanh: {
    wgsl: `0.5 * (1.0 + tanh_safe(0.7978845608028654 * (x + 0.044715 * x * x * x))) +
      0.5 * x * (1.0 - pow(tanh_safe(0.7978845608028654 * (x + 0.044715 * x * x * x)), 2.0)) *
      0.7978845608028654 * (1.0 + 3.0 * 0.044715 * x * x)`,
    ref: (x) => {
      const t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3));
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
    },
  },
  // Scalar-parameterised entries (s is the uniform scalar).
  addScalar: { wgsl: "x + s", ref: (x, s) => x + s, grad: "one" },
  one: { wgsl: "1.0", ref: () => 1 },
  mulScalar: { wgsl: "x * s", ref: (x, s) => x * s, grad: "constS" },
  constS: { wgsl: "s", ref: (_x, s) => s },
  // pow with scalar exponent s; sign-preserving for negative bases with integer s is not attempted (WGSL pow(x<0)=NaN).
  pow: {
    wgsl: "select(pow(x, s), pow(abs(x), s) * select(1.0, -1.0, fract(s * 0.5) != 0.0), x < 0.0 && fract(s) == 0.0)",
    ref: (x, s) => Math.pow(x, s),
    grad: "dpow",
  },
  dpow: {
    wgsl:
      "s * select(pow(x, s - 1.0), pow(abs(x), s - 1.0) * select(1.0, -1.0, fract((s - 1.0) * 0.5) != 0.0), x < 0.0 && fract(s) == 0.0)",
    ref: (x, s) => s * Math.pow(x, s - 1),
  },
};

const WG = 256;

function code(name: string) {
  return () => `
${ERF_WGSL}
struct P { n: u32, s: f32 }
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> O: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${flatIndex(WG)}
  if (i >= p.n) { return; }
  let x = X[i];
  let s = p.s;
  O[i] = ${UNARY[name].wgsl};
}`;
}

/** Forward only (no tape). */
export function unaryRaw(name: string, x: Tensor, s = 0): Tensor {
  if (!UNARY[name]) throw new Error(`unknown unary op ${name}`);
  const out = Tensor.empty(x.shape);
  if (out.size > 0) {
    launch(`unary_${name}`, code(name), [x, out], packParams([["u32", x.size], ["f32", s]]), grid1d(x.size, WG));
  }
  return out;
}

function unary(name: string, x: Tensor, s = 0): Tensor {
  const out = unaryRaw(name, x, s);
  const gname = UNARY[name].grad;
  if (!gname) return out;
  // fwd: y = f(x)  →  dx = g · f'(x)
  return record(out, name, [x], (g) => [binaryRaw("mul", g, unaryRaw(gname, x, s))]);
}

/** Scalar-parameterised unary op (used by add/mul with a number operand). */
export function unaryScalar(name: "addScalar" | "mulScalar" | "pow", x: Tensor, s: number): Tensor {
  return unary(name, x, s);
}

export const exp = (x: Tensor) => unary("exp", x);
export const log = (x: Tensor) => unary("log", x);
export const sqrt = (x: Tensor) => unary("sqrt", x);
export const rsqrt = (x: Tensor) => unary("rsqrt", x);
export const abs = (x: Tensor) => unary("abs", x);
export const tanh = (x: Tensor) => unary("tanh", x);
export const sigmoid = (x: Tensor) => unary("sigmoid", x);
export const neg = (x: Tensor) => unary("neg", x);
export const silu = (x: Tensor) => unary("silu", x);
export const relu = (x: Tensor) => unary("relu", x);
export const reciprocal = (x: Tensor) => unary("recip", x);
export const gelu = (x: Tensor, approximate: "none" | "tanh" = "none") =>
  unary(approximate === "tanh" ? "geluTanh" : "geluErf", x);
export const pow = (x: Tensor, exponent: number) => unary("pow", x, exponent);
export const addScalar = (x: Tensor, s: number) => unary("addScalar", x, s);
export const mulScalar = (x: Tensor, s: number) => unary("mulScalar", x, s);

/** f64 reference. */
export function unaryReference(name: string, x: Float64Array, s = 0): Float64Array {
  const f = UNARY[name].ref;
  return x.map((v) => f(v, s));
}
