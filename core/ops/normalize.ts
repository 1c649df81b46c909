/**
 * l2Normalize(x, axis, eps): y = x / max(‖x‖₂, eps) along one axis (as PyTorch F.normalize), and
 * cosineSimilarity(a (…, N, D), b (…, M, D)) → (…, N, M), built on l2Normalize and matmul with b transposed.
 *
 * The tensor is viewed as (outer, L, inner) with L the normalised axis; one workgroup per (outer, inner) line
 * reduces ‖x‖² in workgroup memory and saves ‖x‖ for the fused backward.
 */
import { Tensor } from "../tensor.ts";
import { record } from "../autograd.ts";
import { launch, normAxes, packParams } from "./kernel.ts";
import { matmul } from "./matmul.ts";
import { reduceWgsl, ROW_ARGS, ROW_INDEX, rowGrid, rowWorkgroupSize } from "./rows.ts";

const STRUCT = "struct P { lines: u32, len: u32, inner: u32, eps: f32 }";
const LINE = `let o = row / p.inner;
  let base = o * p.len * p.inner + row % p.inner;`;

function forwardCode(wg: number) {
  return () => `
${STRUCT}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<storage, read_write> NRM: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
${reduceWgsl(wg)}
@compute @workgroup_size(${wg})
fn main(${ROW_ARGS}) {
  ${ROW_INDEX}
  if (row >= p.lines) { return; }
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
@group(0) @binding(0) var<storage, read> Y: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> NRM: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${reduceWgsl(wg)}
@compute @workgroup_size(${wg})
fn main(${ROW_ARGS}) {
  ${ROW_INDEX}
  if (row >= p.lines) { return; }
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

/** x / max(‖x‖₂, eps) along `axis` (default the last). */
export function l2Normalize(x: Tensor, axis = -1, eps = 1e-12): Tensor {
  const [ax] = normAxes("l2Normalize", axis, x.rank);
  const len = x.shape[ax];
  const inner = x.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const lines = len === 0 ? 0 : x.size / len;
  const out = Tensor.empty(x.shape);
  if (out.size === 0) return out;
  const norms = Tensor.empty([lines]);
  const wg = rowWorkgroupSize(len);
  const u = () => packParams([["u32", lines], ["u32", len], ["u32", inner], ["f32", eps]]);
  launch(`l2norm_fwd_${wg}`, forwardCode(wg), [x, out, norms], u(), rowGrid(lines));
  const result = record(out, "l2Normalize", [x], (g) => {
    const dx = Tensor.empty(x.shape);
    launch(`l2norm_bwd_${wg}`, backwardCode(wg), [out, g, norms, dx], u(), rowGrid(lines));
    return [dx];
  });
  if (!result.node) norms.dispose();
  return result;
}

/**
 * Cosine similarity of every row of a (…, N, D) with every row of b (…, M, D) (or a shared 2-D b (M, D)):
 * (…, N, M) = l2Normalize(a) · l2Normalize(b)ᵀ. Rows with norm below eps are divided by eps instead.
 */
export function cosineSimilarity(a: Tensor, b: Tensor, eps = 1e-8): Tensor {
  const an = l2Normalize(a, -1, eps); // (…, N, D)
  const bn = l2Normalize(b, -1, eps); // (…, M, D)
  return matmul(an, bn, { transB: true }); // (…, N, M)
}

/** f64 reference for l2Normalize. */
export function l2NormalizeReference(x: Float64Array, shape: readonly number[], axis = -1, eps = 1e-12): Float64Array {
  const ax = axis < 0 ? axis + shape.length : axis;
  const len = shape[ax];
  const inner = shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const out = new Float64Array(x.length);
  for (let line = 0; line * len < x.length && len > 0; line++) {
    const base = Math.floor(line / inner) * len * inner + (line % inner);
    let s = 0;
    for (let c = 0; c < len; c++) s += x[base + c * inner] ** 2;
    const d = Math.max(Math.sqrt(s), eps);
    for (let c = 0; c < len; c++) out[base + c * inner] = x[base + c * inner] / d;
  }
  return out;
}

/** f64 reference for cosineSimilarity with batch dims flattened (b shared when `bShared`). */
export function cosineSimilarityReference(
  a: Float64Array,
  b: Float64Array,
  batch: number,
  n: number,
  m: number,
  d: number,
  eps = 1e-8,
  bShared = false,
): Float64Array {
  const an = l2NormalizeReference(a, [batch * n, d], -1, eps);
  const bn = l2NormalizeReference(b, [(bShared ? 1 : batch) * m, d], -1, eps);
  const out = new Float64Array(batch * n * m);
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        let s = 0;
        const bo = (bShared ? 0 : t * m) + j;
        for (let k = 0; k < d; k++) s += an[(t * n + i) * d + k] * bn[bo * d + k];
        out[(t * n + i) * m + j] = s;
      }
    }
  }
  return out;
}
