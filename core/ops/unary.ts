/**
 * Elementwise unary ops: exp, log, sqrt, rsqrt, abs, tanh, sigmoid, neg, silu, gelu (erf and tanh forms), pow with a
 * scalar exponent, and scalar add/mul. Each entry: an f64 reference and the kernel computing its derivative dy/dx
 * (another entry). The kernels themselves, one expression per entry, are in core/gpu/kernels/elementwise.ts (WGSL)
 * and core/wasm/kernels/elementwise.ts (WAT).
 */
import type { Tensor } from "../tensor.ts";
import { record } from "../tape.ts";
import { binaryRaw, unaryRaw } from "../kernels/elementwise.ts";
import type { UnaryName } from "../kernels/types.ts";

export { type UnaryName, unaryRaw };

/** A unary kernel's f64 reference and the kernel of its derivative. */
export interface UnaryDef {
  /** The f64 reference y = f(x, s). */
  ref: (x: number, s: number) => number;
  /** Name of the entry computing dy/dx from x (and s); undefined for ops without gradient. */
  grad?: UnaryName;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** erf(x) to f64 precision (the reference for the kernels' A&S 7.1.26 approximation). */
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

/** Each kernel's f64 reference and the kernel its derivative is (the WGSL and WAT live in core/gpu, core/wasm). */
export const UNARY: Record<UnaryName, UnaryDef> = {
  exp: { ref: Math.exp, grad: "exp" },
  log: { ref: Math.log, grad: "recip" },
  recip: { ref: (x) => 1 / x, grad: "drecip" },
  drecip: { ref: (x) => -1 / (x * x) },
  sqrt: { ref: Math.sqrt, grad: "dsqrt" },
  dsqrt: { ref: (x) => 0.5 / Math.sqrt(x) },
  rsqrt: { ref: (x) => 1 / Math.sqrt(x), grad: "drsqrt" },
  drsqrt: { ref: (x) => -0.5 / (x * Math.sqrt(x)) },
  abs: { ref: Math.abs, grad: "sign" },
  sign: { ref: Math.sign },
  neg: { ref: (x) => -x, grad: "negOne" },
  negOne: { ref: () => -1 },
  tanh: { ref: Math.tanh, grad: "dtanh" },
  dtanh: { ref: (x) => 1 - Math.tanh(x) ** 2 },
  sigmoid: { ref: sig, grad: "dsigmoid" },
  dsigmoid: { ref: (x) => sig(x) * (1 - sig(x)) },
  silu: { ref: (x) => x * sig(x), grad: "dsilu" },
  dsilu: { ref: (x) => sig(x) * (1 + x * (1 - sig(x))) },
  relu: { ref: (x) => Math.max(x, 0), grad: "step" },
  step: { ref: (x) => (x > 0 ? 1 : 0) },
  // fwd: y = x/2 · (1 + erf(x/√2))
  geluErf: {
    ref: (x) => 0.5 * x * (1 + erfReference(x / Math.SQRT2)),
    grad: "dgeluErf",
  },
  // dy/dx = Φ(x) + x·φ(x)
  dgeluErf: {
    ref: (x) => 0.5 * (1 + erfReference(x / Math.SQRT2)) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI),
  },
  // fwd: y = x/2 · (1 + tanh(√(2/π)(x + 0.044715x³)))
  geluTanh: {
    ref: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))),
    grad: "dgeluTanh",
  },
  dgeluTanh: {
    ref: (x) => {
      const t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3));
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
    },
  },
  // Scalar-parameterised entries (s is the uniform scalar).
  addScalar: { ref: (x, s) => x + s, grad: "one" },
  one: { ref: () => 1 },
  mulScalar: { ref: (x, s) => x * s, grad: "constS" },
  constS: { ref: (_x, s) => s },
  // pow with scalar exponent s; negative bases only with integer s (odd/even sign), as WGSL pow(x < 0) is NaN.
  pow: {
    ref: (x, s) => Math.pow(x, s),
    grad: "dpow",
  },
  dpow: {
    ref: (x, s) => s * Math.pow(x, s - 1),
  },
};

function unary(name: UnaryName, x: Tensor, s = 0): Tensor {
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

/** eˣ */
export const exp = (x: Tensor): Tensor => unary("exp", x);
/** ln x */
export const log = (x: Tensor): Tensor => unary("log", x);
/** √x */
export const sqrt = (x: Tensor): Tensor => unary("sqrt", x);
/** 1/√x */
export const rsqrt = (x: Tensor): Tensor => unary("rsqrt", x);
/** |x| */
export const abs = (x: Tensor): Tensor => unary("abs", x);
/** tanh x */
export const tanh = (x: Tensor): Tensor => unary("tanh", x);
/** 1/(1 + e⁻ˣ) */
export const sigmoid = (x: Tensor): Tensor => unary("sigmoid", x);
/** −x */
export const neg = (x: Tensor): Tensor => unary("neg", x);
/** x·σ(x) */
export const silu = (x: Tensor): Tensor => unary("silu", x);
/** max(x, 0) */
export const relu = (x: Tensor): Tensor => unary("relu", x);
/** 1/x */
export const reciprocal = (x: Tensor): Tensor => unary("recip", x);
/** GELU: exact (erf, default) or the tanh approximation. */
export const gelu = (x: Tensor, approximate: "none" | "tanh" = "none"): Tensor =>
  unary(approximate === "tanh" ? "geluTanh" : "geluErf", x);
/** xᵉ for a scalar exponent (negative bases only with integer e). */
export const pow = (x: Tensor, exponent: number): Tensor => unary("pow", x, exponent);
/** x + s */
export const addScalar = (x: Tensor, s: number): Tensor => unary("addScalar", x, s);
/** x · s */
export const mulScalar = (x: Tensor, s: number): Tensor => unary("mulScalar", x, s);

/** f64 reference. */
export function unaryReference(name: UnaryName, x: Float64Array, s = 0): Float64Array {
  const f = UNARY[name].ref;
  return x.map((v) => f(v, s));
}
