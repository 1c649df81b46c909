/**
 * WGSL softmax / logSoftmax over the last axis with an optional broadcast mask (see core/ops/softmax.ts for the
 * conventions). One workgroup per row: three passes (max, Σ exp, write) reduced in workgroup memory.
 */
import { bindings, stridedOffsetWgsl } from "../wgsl.ts";
import { launch } from "../launch.ts";
import { reduceWgsl, rowGrid, rowMain, rowWorkgroupSize } from "../rows.ts";
import { MAX_RANK } from "../../kernels/shapes.ts";
import type { MaskMode, SoftmaxPlan } from "../../kernels/types.ts";
import type { Tensor } from "../../tensor.ts";

const STRUCT = `struct P { rows: u32, len: u32, scale: f32, rank: u32, msLast: u32, _a: u32, _b: u32, _c: u32,
  shape: array<vec4<u32>, 2>, ms: array<vec4<u32>, 2> }`;

/** WGSL: mask offset of a row, validity and logit of one element. */
function maskWgsl(hasMask: boolean, mode: MaskMode, withLogit: boolean): string {
  const valid = !hasMask ? "true" : mode === "keep" ? "M[mb + c * p.msLast] != 0.0" : "M[mb + c * p.msLast] > -1e30";
  const logit = hasMask && mode === "additive"
    ? "X[base + c] * p.scale + M[mb + c * p.msLast]"
    : "X[base + c] * p.scale";
  return `
${stridedOffsetWgsl("maskBase", "p.rank", "p.shape", "p.ms")}
fn isValid(mb: u32, c: u32) -> bool { return ${valid}; }
${withLogit ? `fn logit(base: u32, mb: u32, c: u32) -> f32 { return ${logit}; }` : ""}`;
}

/** Forward and backward open the same way: one workgroup per row, `base` its first element, `mb` its mask offset. */
function rowHead(wg: number, tensors: string[], hasMask: boolean, mode: MaskMode, withLogit: boolean): string {
  return `${STRUCT}
${bindings(tensors, "P")}
${reduceWgsl(wg)}
${maskWgsl(hasMask, mode, withLogit)}
${rowMain(wg)}
  _ = M[0];
  let base = row * p.len;
  let mb = maskBase(row);`;
}

function forwardCode(wg: number, hasMask: boolean, mode: MaskMode, log: boolean) {
  return () => `
${rowHead(wg, ["in X", "in M", "out O"], hasMask, mode, true)}
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
${rowHead(wg, ["in Y", "in G", "in M", "out DX"], hasMask, mode, false)}
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

function params(p: SoftmaxPlan): ArrayBuffer {
  const u = new Uint32Array(8 + 2 * MAX_RANK);
  const f = new Float32Array(u.buffer);
  u[0] = p.rows;
  u[1] = p.len;
  f[2] = p.scale;
  if (p.mask) {
    u[3] = p.mask.leadShape.length;
    u[4] = p.mask.lastStride;
    p.mask.leadShape.forEach((d, i) => {
      u[8 + i] = d;
      u[8 + MAX_RANK + i] = p.mask!.leadStrides[i];
    });
  }
  return u.buffer;
}

function key(p: SoftmaxPlan, pass: string, wg: number): string {
  return `${p.log ? "logSoftmax" : "softmax"}_${pass}_${+!!p.mask}${p.mask ? p.mode : ""}_${wg}`;
}

export function softmaxForward(x: Tensor, mask: Tensor | null, out: Tensor, p: SoftmaxPlan): void {
  const wg = rowWorkgroupSize(p.len);
  const code = forwardCode(wg, !!mask, p.mode, p.log);
  launch(key(p, "fwd", wg), code, [x, mask ?? x, out], params(p), rowGrid(p.rows));
}

export function softmaxBackward(y: Tensor, g: Tensor, mask: Tensor | null, dx: Tensor, p: SoftmaxPlan): void {
  const wg = rowWorkgroupSize(p.len);
  const code = backwardCode(wg, !!mask, p.mode, p.log);
  launch(key(p, "bwd", wg), code, [y, g, mask ?? y, dx], params(p), rowGrid(p.rows));
}
