/**
 * WGSL cross-entropy (see core/ops/cross_entropy.ts): one workgroup per row computes lse and the row loss, a
 * single-workgroup kernel sums the losses and counts the non-ignored rows in row order, and the backward is one
 * elementwise kernel.
 */
import { bindings } from "../wgsl.ts";
import { flatMain, grid1d, launch, packParams } from "../launch.ts";
import { reduceWgsl, rowGrid, rowMain, rowWorkgroupSize } from "../rows.ts";
import type { Backend, CrossEntropyPlan } from "../../kernels/types.ts";
import type { Tensor } from "../../tensor.ts";

const STRUCT = "struct P { rows: u32, len: u32, ignore: i32, mode: u32 }";
const VALID = "fn isValid(t: i32) -> bool { return t != p.ignore && t >= 0 && t < i32(p.len); }";
const MODES = { mean: 0, sum: 1, none: 2 } as const;

function rowCode(wg: number) {
  return () => `
${STRUCT}
${bindings(["in X", "in T: i32", "out L", "out LSE"], "P")}
${reduceWgsl(wg)}
${VALID}
${rowMain(wg)}
  let base = row * p.len;
  var lm = -3.402823e38;
  for (var c = lid; c < p.len; c += ${wg}u) { lm = max(lm, X[base + c]); }
  let m = reduceMax(lid, lm);
  var ls = 0.0;
  for (var c = lid; c < p.len; c += ${wg}u) { ls += exp(X[base + c] - m); }
  let s = reduceSum(lid, ls);
  if (lid == 0u) {
    let lse = m + log(s);
    let t = T[row];
    // fwd: loss = -log softmax(x)[t] = lse - x[t]
    L[row] = select(0.0, lse - X[base + u32(max(t, 0))], isValid(t));
    LSE[row] = lse;
  }
}`;
}

const RED_WG = 256;
function reduceCode() {
  return () => `
${STRUCT}
${bindings(["in L", "in T: i32", "out O", "out CNT"], "P")}
${reduceWgsl(RED_WG)}
${VALID}
@compute @workgroup_size(${RED_WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var a = 0.0;
  var n = 0.0;
  for (var r = lid; r < p.rows; r += ${RED_WG}u) {
    a += L[r];
    n += select(0.0, 1.0, isValid(T[r]));
  }
  let total = reduceSum(lid, a);
  let count = reduceSum(lid, n);
  if (lid == 0u) {
    O[0] = select(total, total / max(count, 1.0), p.mode == 0u);
    CNT[0] = count;
  }
}`;
}

const WG = 256;
function backwardCode() {
  // fwd: loss_r = lse_r - x[r, t_r]  →  dx[r, j] = s_r · (softmax(x_r)_j - [j == t_r]),
  // s_r = g / count (mean), g (sum), g_r (none); 0 for ignored rows.
  return () => `
${STRUCT}
${bindings(["in X", "in T: i32", "in LSE", "in G", "in CNT", "out DX"], "P")}
${VALID}
${flatMain(WG, "p.rows * p.len")}
  _ = CNT[0];
  let r = i / p.len;
  let j = i % p.len;
  let t = T[r];
  var s = 0.0;
  if (p.mode == 0u) { s = G[0] / max(CNT[0], 1.0); }
  else if (p.mode == 1u) { s = G[0]; }
  else { s = G[r]; }
  let d = exp(X[i] - LSE[r]) - select(0.0, 1.0, i32(j) == t);
  DX[i] = select(0.0, s * d, isValid(t));
}`;
}

const params = (p: CrossEntropyPlan) =>
  packParams([["u32", p.rows], ["u32", p.len], ["i32", p.ignore], ["u32", MODES[p.reduction]]]);

export function crossEntropyRows(logits: Tensor, targets: Tensor, losses: Tensor, lse: Tensor, p: CrossEntropyPlan) {
  const wg = rowWorkgroupSize(p.len);
  launch(`xent_row_${wg}`, rowCode(wg), [logits, targets, losses, lse], params(p), rowGrid(p.rows));
}

export function crossEntropyReduce(losses: Tensor, targets: Tensor, out: Tensor, count: Tensor, p: CrossEntropyPlan) {
  launch("xent_reduce", reduceCode(), [losses, targets, out, count], params(p), [1]);
}

export const crossEntropyBackward: Backend["crossEntropyBackward"] = (logits, targets, lse, g, count, dx, p) => {
  launch("xent_bwd", backwardCode(), [logits, targets, lse, g, count, dx], params(p), grid1d(dx.size, WG));
};
