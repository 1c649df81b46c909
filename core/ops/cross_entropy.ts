/**
 * crossEntropy(logits (…, V), targets (…)) fused with log-softmax (N rows = the product of the leading dims).
 * Rows whose target equals `ignoreIndex` (default -100) contribute no loss and no gradient. Reductions:
 *  - "mean" (default): Σ loss / (number of non-ignored rows); 0 when every row is ignored (never NaN);
 *  - "sum": Σ loss;  - "none": per-row losses, shape (…).
 * Targets: an i32 Tensor or a host Int32Array (checked on the host: out-of-range targets throw). Out-of-range
 * targets in an i32 Tensor cannot raise on the GPU and are treated as ignored.
 *
 * Kernels: one workgroup per row computes lse = m + log Σ exp(x - m) and the row loss lse - x[t]; a single-workgroup
 * kernel sums the losses and counts the non-ignored rows in row order (deterministic); the backward is one
 * elementwise kernel.
 */
import { Tensor } from "../tensor.ts";
import { record } from "../autograd.ts";
import { ShapeMismatchError } from "../errors.ts";
import { flatIndex, grid1d, launch, packParams } from "./kernel.ts";
import { lastAxisRows, reduceWgsl, ROW_ARGS, ROW_INDEX, rowGrid, rowWorkgroupSize } from "./rows.ts";

export interface CrossEntropyOptions {
  ignoreIndex?: number;
  reduction?: "mean" | "sum" | "none";
}

const STRUCT = "struct P { rows: u32, len: u32, ignore: i32, mode: u32 }";
const VALID = "fn isValid(t: i32) -> bool { return t != p.ignore && t >= 0 && t < i32(p.len); }";

function rowCode(wg: number) {
  return () => `
${STRUCT}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> T: array<i32>;
@group(0) @binding(2) var<storage, read_write> L: array<f32>;
@group(0) @binding(3) var<storage, read_write> LSE: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${reduceWgsl(wg)}
${VALID}
@compute @workgroup_size(${wg})
fn main(${ROW_ARGS}) {
  ${ROW_INDEX}
  if (row >= p.rows) { return; }
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
@group(0) @binding(0) var<storage, read> L: array<f32>;
@group(0) @binding(1) var<storage, read> T: array<i32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@group(0) @binding(3) var<storage, read_write> CNT: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
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
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> T: array<i32>;
@group(0) @binding(2) var<storage, read> LSE: array<f32>;
@group(0) @binding(3) var<storage, read> G: array<f32>;
@group(0) @binding(4) var<storage, read> CNT: array<f32>;
@group(0) @binding(5) var<storage, read_write> DX: array<f32>;
@group(0) @binding(6) var<uniform> p: P;
${VALID}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  _ = CNT[0];
  ${flatIndex(WG)}
  if (i >= p.rows * p.len) { return; }
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

const MODES = { mean: 0, sum: 1, none: 2 } as const;

/** Cross-entropy of logits (…, V) against integer targets (…); see the file comment. */
export function crossEntropy(
  logits: Tensor,
  targets: Tensor | Int32Array,
  opts: CrossEntropyOptions = {},
): Tensor {
  const ignore = opts.ignoreIndex ?? -100;
  const reduction = opts.reduction ?? "mean";
  const { rows, len } = lastAxisRows("crossEntropy", logits);
  const tSize = targets instanceof Tensor ? targets.size : targets.length;
  if (tSize !== rows) {
    throw new ShapeMismatchError("crossEntropy", `${tSize} targets for logits [${logits.shape}] (${rows} rows)`);
  }
  let tgt: Tensor;
  if (targets instanceof Tensor) {
    if (targets.dtype !== "i32") {
      throw new ShapeMismatchError("crossEntropy", `targets must be i32, got ${targets.dtype}`);
    }
    tgt = targets;
  } else {
    targets.forEach((t, r) => {
      if (t !== ignore && (t < 0 || t >= len)) {
        throw new ShapeMismatchError("crossEntropy", `target ${t} at row ${r} is outside [0, ${len})`);
      }
    });
    tgt = Tensor.from(targets, [rows], { dtype: "i32" });
  }
  const leadShape = logits.shape.slice(0, -1);
  const params = () => packParams([["u32", rows], ["u32", len], ["i32", ignore], ["u32", MODES[reduction]]]);
  const perRow = Tensor.empty(leadShape);
  const lse = Tensor.empty([Math.max(rows, 1)]);
  const count = reduction === "none" ? lse : Tensor.empty([1]);
  const wg = rowWorkgroupSize(len);
  if (rows > 0) launch(`xent_row_${wg}`, rowCode(wg), [logits, tgt, perRow, lse], params(), rowGrid(rows));
  let out: Tensor;
  if (reduction === "none") {
    out = perRow;
  } else {
    out = Tensor.empty([]);
    launch("xent_reduce", reduceCode(), [perRow, tgt, out, count], params(), [1]);
  }
  const result = record(out, "crossEntropy", [logits], (g) => {
    const dx = Tensor.empty(logits.shape);
    if (dx.size > 0) {
      launch("xent_bwd", backwardCode(), [logits, tgt, lse, g, count, dx], params(), [
        ...grid1d(dx.size, WG),
      ]);
    }
    return [dx];
  });
  if (!result.node) {
    lse.dispose();
    if (reduction !== "none") {
      count.dispose();
      perRow.dispose();
    }
    if (tgt !== targets) tgt.dispose();
  }
  return result;
}

/** f64 reference: per-row losses reduced as `reduction`. */
export function crossEntropyReference(
  logits: Float64Array,
  len: number,
  targets: ArrayLike<number>,
  opts: CrossEntropyOptions = {},
): Float64Array {
  const ignore = opts.ignoreIndex ?? -100;
  const rows = targets.length;
  const losses = new Float64Array(rows);
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t === ignore) continue;
    const row = logits.subarray(r * len, (r + 1) * len);
    const m = row.reduce((a, v) => Math.max(a, v), -Infinity);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    losses[r] = lse - row[t];
    count++;
  }
  const reduction = opts.reduction ?? "mean";
  if (reduction === "none") return losses;
  const sum = losses.reduce((a, v) => a + v, 0);
  return Float64Array.of(reduction === "sum" ? sum : sum / Math.max(count, 1));
}
