/**
 * WGSL rmsNorm / layerNorm over the last axis (see core/ops/norm.ts): a fused forward (one workgroup per row, also
 * saving (μ, r) per row), a row kernel for dx and a column kernel for dw and db that sums rows in row order.
 */
import { bindings } from "../wgsl.ts";
import { flatMain, grid1d, launch, packParams } from "../launch.ts";
import { reduceWgsl, rowGrid, rowMain, rowWorkgroupSize } from "../rows.ts";
import type { NormKind, NormPlan } from "../../kernels/types.ts";
import type { Tensor } from "../../tensor.ts";

const STRUCT = "struct P { rows: u32, len: u32, eps: f32 }";

function forwardCode(kind: NormKind, wg: number, hasW: boolean, hasB: boolean) {
  const stats = kind === "rms"
    ? `let mu = 0.0;
  let ss = reduceSum(lid, sq(base, 0.0));
  let r = inverseSqrt(ss / f32(p.len) + p.eps);`
    : `let mu = reduceSum(lid, tot(base)) / f32(p.len);
  let vs = reduceSum(lid, sq(base, mu));
  let r = inverseSqrt(vs / f32(p.len) + p.eps);`;
  return () => `
${STRUCT}
${bindings(["in X", "in W", "in B", "out O", "out S"], "P")}
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
${rowMain(wg)}
  _ = W[0];
  _ = B[0];
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

function backwardXCode(kind: NormKind, wg: number, hasW: boolean) {
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
${bindings(["in X", "in W", "in G", "in S", "out DX"], "P")}
${reduceWgsl(wg)}
${rowMain(wg)}
  _ = W[0];
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
${bindings(["in X", "in G", "in S", "out DW", "out DB"], "P")}
${flatMain(COL_WG, "p.len")}
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

const params = (p: NormPlan) => packParams([["u32", p.rows], ["u32", p.len], ["f32", p.eps]]);
const opName = (p: NormPlan) => (p.kind === "rms" ? "rmsNorm" : "layerNorm");

export function normForward(x: Tensor, w: Tensor | null, b: Tensor | null, out: Tensor, stats: Tensor, p: NormPlan) {
  const wg = rowWorkgroupSize(p.len);
  launch(
    `${opName(p)}_fwd_${+!!w}${+!!b}_${wg}`,
    forwardCode(p.kind, wg, !!w, !!b),
    [
      x,
      w ?? x,
      b ?? x,
      out,
      stats,
    ],
    params(p),
    rowGrid(p.rows),
  );
}

export function normBackwardX(x: Tensor, w: Tensor | null, g: Tensor, stats: Tensor, dx: Tensor, p: NormPlan) {
  const wg = rowWorkgroupSize(p.len);
  const code = backwardXCode(p.kind, wg, !!w);
  launch(`${opName(p)}_bwdx_${+!!w}_${wg}`, code, [x, w ?? x, g, stats, dx], params(p), rowGrid(p.rows));
}

export function normBackwardW(x: Tensor, g: Tensor, stats: Tensor, dw: Tensor, db: Tensor, p: NormPlan) {
  launch("norm_bwdw", backwardWCode(), [x, g, stats, dw, db], params(p), grid1d(p.len, COL_WG));
}
