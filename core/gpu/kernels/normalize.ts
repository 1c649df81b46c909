/** WGSL l2Normalize along one axis of (outer, L, inner): one workgroup per line reduces ‖x‖² and saves ‖x‖. */
import { bindings } from "../wgsl.ts";
import { launch, packParams } from "../launch.ts";
import { reduceWgsl, rowGrid, rowMain, rowWorkgroupSize } from "../rows.ts";
import type { L2Plan } from "../../kernels/types.ts";
import type { Tensor } from "../../tensor.ts";

const STRUCT = "struct P { lines: u32, len: u32, inner: u32, eps: f32 }";
const LINE = `let o = row / p.inner;
  let base = o * p.len * p.inner + row % p.inner;`;

function forwardCode(wg: number) {
  return () => `
${STRUCT}
${bindings(["in X", "out Y", "out NRM"], "P")}
${reduceWgsl(wg)}
${rowMain(wg, "p.lines")}
  ${LINE}
  var a = 0.0;
  for (var c = lid; c < p.len; c += ${wg}u) { let v = X[base + c * p.inner]; a += v * v; }
  let n = sqrt(reduceSum(lid, a));
  let inv = 1.0 / max(n, p.eps);
  for (var c = lid; c < p.len; c += ${wg}u) { Y[base + c * p.inner] = X[base + c * p.inner] * inv; }
  if (lid == 0u) { NRM[row] = n; }
}`;
}

function backwardCode(wg: number) {
  // fwd: y = x / max(‖x‖, eps)
  // ‖x‖ > eps:  dx = (g - y · Σ g ⊙ y) / ‖x‖     (∂‖x‖/∂x = y)
  // ‖x‖ ≤ eps:  dx = g / eps                      (the denominator is a constant)
  return () => `
${STRUCT}
${bindings(["in Y", "in G", "in NRM", "out DX"], "P")}
${reduceWgsl(wg)}
${rowMain(wg, "p.lines")}
  ${LINE}
  let n = NRM[row];
  let big = n > p.eps;
  var a = 0.0;
  for (var c = lid; c < p.len; c += ${wg}u) { let k = base + c * p.inner; a += G[k] * Y[k]; }
  let dot = select(0.0, reduceSum(lid, a), big);
  let inv = 1.0 / max(n, p.eps);
  for (var c = lid; c < p.len; c += ${wg}u) {
    let k = base + c * p.inner;
    DX[k] = (G[k] - Y[k] * dot) * inv;
  }
}`;
}

const params = (p: L2Plan) => packParams([["u32", p.lines], ["u32", p.len], ["u32", p.inner], ["f32", p.eps]]);

export function l2Forward(x: Tensor, y: Tensor, norms: Tensor, p: L2Plan): void {
  const wg = rowWorkgroupSize(p.len);
  launch(`l2norm_fwd_${wg}`, forwardCode(wg), [x, y, norms], params(p), rowGrid(p.lines));
}

export function l2Backward(y: Tensor, g: Tensor, norms: Tensor, dx: Tensor, p: L2Plan): void {
  const wg = rowWorkgroupSize(p.len);
  launch(`l2norm_bwd_${wg}`, backwardCode(wg), [y, g, norms, dx], params(p), rowGrid(p.lines));
}
