/**
 * softmax and logSoftmax over the last axis, numerically stable (the row maximum is subtracted before exp), with an
 * optional mask and a scale (1 / temperature).
 *
 * z = x · scale (+ mask when `maskMode: "additive"`). Masks broadcast to x's shape (NumPy rules, e.g. a (T, T)
 * causal mask against (B, H, T, T) scores) and are constants (no gradient):
 *  - `maskMode: "keep"` (default): a 0/1 tensor, nonzero keeps the position, 0 masks it out.
 *  - `maskMode: "additive"`: added to the scaled logits (not scaled itself); entries ≤ -1e30 (e.g. -Infinity)
 *    mask the position out, any other value is a bias.
 * Masked positions output 0 in both ops (log-softmax gives 0 there rather than -∞, so products with zero weights
 * stay finite) and receive zero gradient. A fully masked row gives all zeros, forward and backward (never NaN).
 *
 * One workgroup per row: three passes (max, Σ exp, write) reduced in workgroup memory, so rows of 4096+ work.
 */
import { Tensor } from "../tensor.ts";
import { record } from "../autograd.ts";
import { ShapeMismatchError } from "../errors.ts";
import { broadcastShapes, broadcastStrides, launch, MAX_RANK, sameShape } from "./kernel.ts";
import { lastAxisRows, reduceWgsl, ROW_ARGS, ROW_INDEX, rowGrid, rowWorkgroupSize } from "./rows.ts";

export type MaskMode = "keep" | "additive";

export interface SoftmaxOptions {
  /** Broadcastable to x; see the file comment for the two modes. */
  mask?: Tensor;
  maskMode?: MaskMode;
  /** Multiplies the logits before the softmax (1 / temperature). Default 1. */
  scale?: number;
}

const STRUCT = `struct P { rows: u32, len: u32, scale: f32, rank: u32, msLast: u32, _a: u32, _b: u32, _c: u32,
  shape: array<vec4<u32>, 2>, ms: array<vec4<u32>, 2> }`;

/** WGSL: mask offset of a row, validity and logit of one element. */
function maskWgsl(hasMask: boolean, mode: MaskMode): string {
  const valid = !hasMask ? "true" : mode === "keep" ? "M[mb + c * p.msLast] != 0.0" : "M[mb + c * p.msLast] > -1e30";
  const logit = hasMask && mode === "additive"
    ? "X[base + c] * p.scale + M[mb + c * p.msLast]"
    : "X[base + c] * p.scale";
  return `
fn maskBase(row: u32) -> u32 {
  var rem = row;
  var off = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = p.shape[d / 4][d % 4];
    off += (rem % dim) * p.ms[d / 4][d % 4];
    rem = rem / dim;
  }
  return off;
}
fn isValid(mb: u32, c: u32) -> bool { return ${valid}; }
fn logit(base: u32, mb: u32, c: u32) -> f32 { return ${logit}; }`;
}

function forwardCode(wg: number, hasMask: boolean, mode: MaskMode, log: boolean) {
  return () => `
${STRUCT}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> M: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
${reduceWgsl(wg)}
${maskWgsl(hasMask, mode)}
@compute @workgroup_size(${wg})
fn main(${ROW_ARGS}) {
  _ = M[0];
  ${ROW_INDEX}
  if (row >= p.rows) { return; }
  let base = row * p.len;
  let mb = maskBase(row);
  var lmax = -3.402823e38;
  for (var c = lid; c < p.len; c += ${wg}u) {
    if (isValid(mb, c)) { lmax = max(lmax, logit(base, mb, c)); }
  }
  let m = reduceMax(lid, lmax);
  var lsum = 0.0;
  for (var c = lid; c < p.len; c += ${wg}u) {
    if (isValid(mb, c)) { lsum += exp(logit(base, mb, c) - m); }
  }
  let s = reduceSum(lid, lsum);
  // s ≥ 1 when any position is valid (the maximum contributes exp(0)); s == 0 means a fully masked row.
  let logS = log(max(s, 1.0));
  let inv = select(0.0, 1.0 / s, s > 0.0);
  for (var c = lid; c < p.len; c += ${wg}u) {
    var y = 0.0;
    if (isValid(mb, c) && s > 0.0) {
      ${log ? "y = logit(base, mb, c) - m - logS;" : "y = exp(logit(base, mb, c) - m) * inv;"}
    }
    O[base + c] = y;
  }
}`;
}

function backwardCode(wg: number, hasMask: boolean, mode: MaskMode, log: boolean) {
  // softmax:     fwd y = exp(z - m) / Σ exp(z - m)  →  dz = y ⊙ (g - Σ g ⊙ y)         (y = 0 where masked)
  // logSoftmax:  fwd y = z - m - log Σ exp(z - m)  →  dz = g - exp(y) · Σ_valid g     (0 where masked)
  // and z = x · scale (+ mask)  →  dx = scale · dz
  return () => `
${STRUCT}
@group(0) @binding(0) var<storage, read> Y: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> M: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${reduceWgsl(wg)}
${maskWgsl(hasMask, mode).replace(/fn logit[^\n]*/, "")}
@compute @workgroup_size(${wg})
fn main(${ROW_ARGS}) {
  _ = M[0];
  ${ROW_INDEX}
  if (row >= p.rows) { return; }
  let base = row * p.len;
  let mb = maskBase(row);
  var acc = 0.0;
  for (var c = lid; c < p.len; c += ${wg}u) {
    if (isValid(mb, c)) { acc += ${log ? "G[base + c]" : "G[base + c] * Y[base + c]"}; }
  }
  let tot = reduceSum(lid, acc);
  for (var c = lid; c < p.len; c += ${wg}u) {
    var d = 0.0;
    if (isValid(mb, c)) {
      let y = Y[base + c];
      ${log ? "d = G[base + c] - exp(y) * tot;" : "d = y * (G[base + c] - tot);"}
    }
    DX[base + c] = p.scale * d;
  }
}`;
}

function params(x: Tensor, mask: Tensor | undefined, scale: number): ArrayBuffer {
  const { rows, len } = lastAxisRows("softmax", x);
  const u = new Uint32Array(8 + 2 * MAX_RANK);
  const f = new Float32Array(u.buffer);
  u[0] = rows;
  u[1] = len;
  f[2] = scale;
  if (mask) {
    const ms = broadcastStrides(mask.shape, x.shape);
    const lead = x.rank - 1;
    u[3] = lead;
    u[4] = ms[lead];
    for (let d = 0; d < lead; d++) {
      u[8 + d] = x.shape[d];
      u[8 + MAX_RANK + d] = ms[d];
    }
  }
  return u.buffer;
}

function checkMask(op: string, x: Tensor, mask: Tensor | undefined): void {
  if (!mask) return;
  if (mask.dtype !== "f32") {
    throw new ShapeMismatchError(op, `mask must be an f32 tensor (0/1 or additive), got ${mask.dtype}`);
  }
  if (!sameShape(broadcastShapes(op, x.shape, mask.shape), x.shape)) {
    throw new ShapeMismatchError(op, `mask [${mask.shape}] does not broadcast to input [${x.shape}]`);
  }
  if (x.rank > MAX_RANK) throw new ShapeMismatchError(op, `rank > ${MAX_RANK}`);
}

function softmaxImpl(x: Tensor, opts: SoftmaxOptions, log: boolean): Tensor {
  const op = log ? "logSoftmax" : "softmax";
  checkMask(op, x, opts.mask);
  const mode = opts.maskMode ?? "keep";
  const scale = opts.scale ?? 1;
  const hasMask = !!opts.mask;
  const { rows, len } = lastAxisRows(op, x);
  const out = Tensor.empty(x.shape);
  if (out.size === 0) return out;
  const wg = rowWorkgroupSize(len);
  const flags = `${+hasMask}${hasMask ? mode : ""}_${wg}`;
  const u = params(x, opts.mask, scale);
  launch(`${op}_fwd_${flags}`, forwardCode(wg, hasMask, mode, log), [x, opts.mask ?? x, out], u, rowGrid(rows));
  return record(out, op, [x], (g) => {
    const dx = Tensor.empty(x.shape);
    launch(
      `${op}_bwd_${flags}`,
      backwardCode(wg, hasMask, mode, log),
      [out, g, opts.mask ?? x, dx],
      params(x, opts.mask, scale),
      rowGrid(rows),
    );
    return [dx];
  });
}

/** softmax(x · scale [+ mask]) over the last axis. */
export function softmax(x: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return softmaxImpl(x, opts, false);
}

/** log(softmax(x · scale [+ mask])) over the last axis; masked positions give 0 (see the file comment). */
export function logSoftmax(x: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return softmaxImpl(x, opts, true);
}

/** f64 reference (same masking conventions). `mask` is given with its own shape and broadcast to `shape`. */
export function softmaxReference(
  x: Float64Array,
  shape: readonly number[],
  opts: { mask?: Float64Array; maskShape?: readonly number[]; maskMode?: MaskMode; scale?: number; log?: boolean } = {},
): Float64Array {
  const len = shape[shape.length - 1];
  const rows = len === 0 ? 0 : x.length / len;
  const scale = opts.scale ?? 1;
  const mode = opts.maskMode ?? "keep";
  const ms = opts.mask ? broadcastStrides(opts.maskShape ?? shape, shape) : [];
  const xs = [...shape.keys()].map((d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const out = new Float64Array(x.length);
  const maskAt = (i: number) => {
    let off = 0;
    for (let d = 0; d < shape.length; d++) off += (Math.floor(i / xs[d]) % shape[d]) * ms[d];
    return opts.mask![off];
  };
  for (let r = 0; r < rows; r++) {
    const z: number[] = [], valid: boolean[] = [];
    for (let c = 0; c < len; c++) {
      const i = r * len + c;
      let v = x[i] * scale, ok = true;
      if (opts.mask) {
        const mv = maskAt(i);
        if (mode === "keep") ok = mv !== 0;
        else {
          ok = mv > -1e30;
          v += mv;
        }
      }
      z.push(v);
      valid.push(ok);
    }
    let m = -Infinity;
    for (let c = 0; c < len; c++) if (valid[c]) m = Math.max(m, z[c]);
    if (m === -Infinity) continue; // fully masked: zeros
    let s = 0;
    for (let c = 0; c < len; c++) if (valid[c]) s += Math.exp(z[c] - m);
    for (let c = 0; c < len; c++) {
      if (!valid[c]) continue;
      out[r * len + c] = opts.log ? z[c] - m - Math.log(s) : Math.exp(z[c] - m) / s;
    }
  }
  return out;
}
