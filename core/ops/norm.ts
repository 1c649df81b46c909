/**
 * rmsNorm (Qwen2RMSNorm: y = x · rsqrt(mean(x²) + eps) · w) and layerNorm (y = (x - μ) · rsqrt(σ² + eps) · w + b)
 * over the last axis (C channels), each with a fused forward kernel (one workgroup per row, which also saves the
 * per-row statistics) and a fused backward: one row kernel for dx, one column kernel for dw (and db).
 * The column kernel sums over rows in row order, so gradients are deterministic.
 */
import { Tensor } from "../tensor.ts";
import { record } from "../autograd.ts";
import { ShapeMismatchError } from "../errors.ts";
import { flatIndex, grid1d, launch, packParams } from "./kernel.ts";
import { lastAxisRows, reduceWgsl, ROW_ARGS, ROW_INDEX, rowGrid, rowWorkgroupSize } from "./rows.ts";

type Kind = "rms" | "ln";

const STRUCT = "struct P { rows: u32, len: u32, eps: f32 }";

function forwardCode(kind: Kind, wg: number, hasW: boolean, hasB: boolean) {
  const stats = kind === "rms"
    ? `let mu = 0.0;
  let ss = reduceSum(lid, sq(base, 0.0));
  let r = inverseSqrt(ss / f32(p.len) + p.eps);`
    : `let mu = reduceSum(lid, tot(base)) / f32(p.len);
  let vs = reduceSum(lid, sq(base, mu));
  let r = inverseSqrt(vs / f32(p.len) + p.eps);`;
  return () => `
${STRUCT}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
@group(0) @binding(4) var<storage, read_write> S: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
${reduceWgsl(wg)}
fn tot(base: u32) -> f32 {
  var a = 0.0;
  for (var c = local; c < p.len; c += ${wg}u) { a += X[base + c]; }
  return a;
}
fn sq(base: u32, mu: f32) -> f32 {
  var a = 0.0;
  for (var c = local; c < p.len; c += ${wg}u) { let d = X[base + c] - mu; a += d * d; }
  return a;
}
var<private> local: u32;
@compute @workgroup_size(${wg})
fn main(${ROW_ARGS}) {
  _ = W[0];
  _ = B[0];
  ${ROW_INDEX}
  if (row >= p.rows) { return; }
  local = lid;
  let base = row * p.len;
  ${stats}
  for (var c = lid; c < p.len; c += ${wg}u) {
    // fwd: y = (x - μ) · r · w (+ b), with μ = 0 for RMSNorm
    O[base + c] = (X[base + c] - mu) * r${hasW ? " * W[c]" : ""}${hasB ? " + B[c]" : ""};
  }
  if (lid == 0u) { S[2u * row] = mu; S[2u * row + 1u] = r; }
}`;
}

function backwardXCode(kind: Kind, wg: number, hasW: boolean) {
  const gw = hasW ? "G[base + c] * W[c]" : "G[base + c]";
  const body = kind === "rms"
    ? `// fwd: y = x · r · w, r = (mean(x²) + eps)^(-1/2)
  // dx_j = r · (g_j w_j) + Σ_i g_i w_i x_i · ∂r/∂x_j,  ∂r/∂x_j = -r³ x_j / C
  //      = r · (g_j w_j - x_j · r² · mean(g ⊙ w ⊙ x))
  var a = 0.0;
  for (var c = lid; c < p.len; c += ${wg}u) { a += ${gw} * X[base + c]; }
  let dot = reduceSum(lid, a) / f32(p.len);
  for (var c = lid; c < p.len; c += ${wg}u) {
    DX[base + c] = r * (${gw} - X[base + c] * r * r * dot);
  }`
    : `// fwd: x̂ = (x - μ) · r, y = x̂ · w + b
  // dx̂ = g ⊙ w ;  dx = r · (dx̂ - mean(dx̂) - x̂ · mean(dx̂ ⊙ x̂))
  var a = 0.0;
  var b = 0.0;
  for (var c = lid; c < p.len; c += ${wg}u) {
    let dxh = ${gw};
    a += dxh;
    b += dxh * (X[base + c] - mu) * r;
  }
  let ma = reduceSum(lid, a) / f32(p.len);
  let mb = reduceSum(lid, b) / f32(p.len);
  for (var c = lid; c < p.len; c += ${wg}u) {
    let xh = (X[base + c] - mu) * r;
    DX[base + c] = r * (${gw} - ma - xh * mb);
  }`;
  return () => `
${STRUCT}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read> S: array<f32>;
@group(0) @binding(4) var<storage, read_write> DX: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
${reduceWgsl(wg)}
@compute @workgroup_size(${wg})
fn main(${ROW_ARGS}) {
  _ = W[0];
  ${ROW_INDEX}
  if (row >= p.rows) { return; }
  let base = row * p.len;
  let mu = S[2u * row];
  let r = S[2u * row + 1u];
  ${body}
}`;
}

const COL_WG = 64;

function backwardWCode() {
  // fwd: y = x̂ · w + b  →  dw_c = Σ_rows g · x̂,  db_c = Σ_rows g   (x̂ = (x - μ) · r; μ = 0 for RMSNorm)
  return () => `
${STRUCT}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> S: array<f32>;
@group(0) @binding(3) var<storage, read_write> DW: array<f32>;
@group(0) @binding(4) var<storage, read_write> DB: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
@compute @workgroup_size(${COL_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${flatIndex(COL_WG)}
  if (i >= p.len) { return; }
  var dw = 0.0;
  var db = 0.0;
  for (var rr = 0u; rr < p.rows; rr++) {
    let g = G[rr * p.len + i];
    dw += g * (X[rr * p.len + i] - S[2u * rr]) * S[2u * rr + 1u];
    db += g;
  }
  DW[i] = dw;
  DB[i] = db;
}`;
}

function normImpl(kind: Kind, x: Tensor, w: Tensor | null, b: Tensor | null, eps: number): Tensor {
  const op = kind === "rms" ? "rmsNorm" : "layerNorm";
  const { rows, len } = lastAxisRows(op, x);
  for (const [t, nm] of [[w, "weight"], [b, "bias"]] as const) {
    if (t && t.size !== len) throw new ShapeMismatchError(op, `${nm} [${t.shape}] for ${len} channels`);
  }
  const out = Tensor.empty(x.shape);
  if (out.size === 0) return out;
  const stats = Tensor.empty([rows, 2]); // (μ, r) per row
  const wg = rowWorkgroupSize(len);
  const u = () => packParams([["u32", rows], ["u32", len], ["f32", eps]]);
  launch(`${op}_fwd_${+!!w}${+!!b}_${wg}`, forwardCode(kind, wg, !!w, !!b), [x, w ?? x, b ?? x, out, stats], u(), [
    ...rowGrid(rows),
  ]);
  const inputs = [x, ...(w ? [w] : []), ...(b ? [b] : [])];
  const result = record(out, op, inputs, (g) => {
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = Tensor.empty(x.shape);
      launch(`${op}_bwdx_${+!!w}_${wg}`, backwardXCode(kind, wg, !!w), [x, w ?? x, g, stats, dx], u(), rowGrid(rows));
    }
    let dw: Tensor | null = null, db: Tensor | null = null;
    if (w?.requiresGrad || b?.requiresGrad) {
      dw = Tensor.empty(w?.shape ?? [len]);
      db = Tensor.empty(b?.shape ?? [len]);
      launch("norm_bwdw", backwardWCode(), [x, g, stats, dw, db], u(), grid1d(len, COL_WG));
    }
    const grads: (Tensor | null)[] = [dx];
    if (w) grads.push(w.requiresGrad ? dw : null);
    if (b) grads.push(b.requiresGrad ? db : null);
    return grads;
  });
  if (!result.node) stats.dispose();
  return result;
}

/** Qwen2 RMSNorm over the last axis: x · rsqrt(mean(x²) + eps) · weight. weight: (C). */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6): Tensor {
  return normImpl("rms", x, weight, null, eps);
}

/** LayerNorm over the last axis: (x - mean) · rsqrt(var + eps) · weight + bias (biased variance, as PyTorch). */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  return normImpl("ln", x, weight, bias, eps);
}

/** f64 reference for both norms (weight/bias null = identity). */
export function normReference(
  kind: "rmsNorm" | "layerNorm",
  x: Float64Array,
  len: number,
  weight: Float64Array | null,
  bias: Float64Array | null,
  eps: number,
): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r * len < x.length; r++) {
    const row = x.subarray(r * len, (r + 1) * len);
    const mu = kind === "rmsNorm" ? 0 : row.reduce((a, v) => a + v, 0) / len;
    const v = row.reduce((a, xv) => a + (xv - mu) ** 2, 0) / len;
    const rs = 1 / Math.sqrt(v + eps);
    for (let c = 0; c < len; c++) {
      out[r * len + c] = (row[c] - mu) * rs * (weight ? weight[c] : 1) + (bias ? bias[c] : 0);
    }
  }
  return out;
}
