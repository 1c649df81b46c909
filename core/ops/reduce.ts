/**
 * Reductions over any set of axes: sum, mean, max (values). Workgroups stride over the reduced elements and
 * tree-reduce in workgroup memory, so both "many short rows" and "one long row" work. A long reduction is split into
 * chunks of at most REDUCE_CHUNK_ITERS strided iterations per invocation, one workgroup per (output, chunk), and the
 * chunk partials are reduced again (same kernel): it spreads one long reduction over many workgroups on a real GPU, and
 * on Mesa's llvmpipe it is needed for correctness: llvmpipe silently stops a loop after 65535 iterations per invocation
 * (measured; with this kernel's nested index loop, sums over ~40k+ elements at 4 invocations came out truncated).
 */
import { Tensor } from "../tensor.ts";
import { record } from "../autograd.ts";
import { ShapeMismatchError } from "../errors.ts";
import { contiguousStrides, MAX_RANK, normAxes, sameShape } from "./kernel.ts";
import { launch } from "./kernel.ts";
import { binaryRaw } from "./binary.ts";
import { unaryRaw } from "./unary.ts";
import { full } from "./fill.ts";
import { rowWorkgroupSize } from "./rows.ts";

type ReduceKind = "sum" | "max";

/** Strided loop iterations per invocation per pass (× the reduced rank's index loop: far below llvmpipe's 65535). */
export const REDUCE_CHUNK_ITERS = 1024;

function code(kind: ReduceKind, WG: number) {
  const init = kind === "sum" ? "0.0" : "-3.402823e38";
  const comb = kind === "sum" ? "a + b" : "max(a, b)";
  return () => `
struct P { nOut: u32, nRed: u32, keptRank: u32, redRank: u32,
  keptShape: array<vec4<u32>, 2>, keptStride: array<vec4<u32>, 2>,
  redShape: array<vec4<u32>, 2>, redStride: array<vec4<u32>, 2>, chunk: vec4<u32> }
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> O: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
var<workgroup> buf: array<f32, ${WG}>;
fn comb(a: f32, b: f32) -> f32 { return ${comb}; }
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x;
  let nChunks = p.chunk.y;
  let o = g / nChunks;
  let ch = g % nChunks;
  if (o >= p.nOut) { return; }
  let r0 = ch * p.chunk.x;
  let r1 = min(r0 + p.chunk.x, p.nRed);
  var rem = o;
  var base = 0u;
  for (var d = i32(p.keptRank) - 1; d >= 0; d--) {
    let dim = p.keptShape[d / 4][d % 4];
    base += (rem % dim) * p.keptStride[d / 4][d % 4];
    rem = rem / dim;
  }
  var acc = ${init};
  for (var r = r0 + lid; r < r1; r += ${WG}u) {
    var rr = r;
    var off = base;
    for (var d = i32(p.redRank) - 1; d >= 0; d--) {
      let dim = p.redShape[d / 4][d % 4];
      off += (rr % dim) * p.redStride[d / 4][d % 4];
      rr = rr / dim;
    }
    acc = comb(acc, X[off]);
  }
  buf[lid] = acc;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { buf[lid] = comb(buf[lid], buf[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u) { O[g] = buf[0]; }
}`;
}

function reduceRaw(kind: ReduceKind, x: Tensor, axes: number[], keepDims: boolean): Tensor {
  const strides = contiguousStrides(x.shape);
  const kept = [...x.shape.keys()].filter((d) => !axes.includes(d));
  const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : kept.map((d) => x.shape[d]);
  const nOut = outShape.reduce((a, b) => a * b, 1);
  const nRed = axes.reduce((a, d) => a * x.shape[d], 1);
  if (nOut === 0) return Tensor.empty(outShape);
  if (kept.length > MAX_RANK || axes.length > MAX_RANK) throw new Error(`reduce: rank > ${MAX_RANK}`);
  // Workgroup size per adapter class (see rows.ts): few invocations per output on a CPU adapter.
  const wg = rowWorkgroupSize(nRed);
  const chunk = wg * REDUCE_CHUNK_ITERS;
  const nChunks = Math.ceil(nRed / chunk);
  const u = new Uint32Array(4 + 4 * MAX_RANK + 4);
  u[0] = nOut;
  u[1] = nRed;
  u[2] = kept.length;
  u[3] = axes.length;
  kept.forEach((d, i) => {
    u[4 + i] = x.shape[d];
    u[4 + MAX_RANK + i] = strides[d];
  });
  axes.forEach((d, i) => {
    u[4 + 2 * MAX_RANK + i] = x.shape[d];
    u[4 + 3 * MAX_RANK + i] = strides[d];
  });
  u[4 + 4 * MAX_RANK] = chunk;
  u[4 + 4 * MAX_RANK + 1] = nChunks;
  // One pass writes out directly; a chunked one writes partials (nOut, nChunks), output-major, reduced again below.
  const target = Tensor.empty(nChunks === 1 ? outShape : [nOut, nChunks]);
  const groups = nOut * nChunks;
  const y = Math.ceil(groups / 65535);
  launch(`reduce_${kind}_${wg}`, code(kind, wg), [x, target], u.buffer, [Math.ceil(groups / y), y]);
  if (nChunks === 1) return target;
  const r = reduceRaw(kind, target, [1], false);
  target.dispose();
  const out = r.view(outShape);
  r.dispose();
  return out;
}

/** Broadcast a keepDims-shaped gradient back to `shape` (through the broadcasting add kernel). */
function expandTo(g: Tensor, shape: readonly number[]): Tensor {
  const zeros = full(shape, 0);
  const out = binaryRaw("add", zeros, g);
  zeros.dispose();
  return out;
}

export function sum(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  const ax = normAxes("sum", axes, x.rank);
  const out = reduceRaw("sum", x, ax, keepDims);
  // fwd: y = Σ_axes x  →  dx = broadcast(g)
  return record(out, "sum", [x], (g) => {
    const gk = g.view(x.shape.map((d, i) => (ax.includes(i) ? 1 : d)));
    return [expandTo(gk, x.shape)];
  });
}

export function mean(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  const ax = normAxes("mean", axes, x.rank);
  const n = ax.reduce((a, d) => a * x.shape[d], 1);
  const s = reduceRaw("sum", x, ax, keepDims);
  const out = unaryRaw("mulScalar", s, 1 / n);
  s.dispose();
  // fwd: y = Σ_axes x / n  →  dx = broadcast(g) / n
  return record(out, "mean", [x], (g) => {
    const gk = g.view(x.shape.map((d, i) => (ax.includes(i) ? 1 : d)));
    return [unaryRaw("mulScalar", expandTo(gk, x.shape), 1 / n)];
  });
}

/** Max values over axes; the gradient is split evenly among tied maxima. */
export function max(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  const ax = normAxes("max", axes, x.rank);
  const out = reduceRaw("max", x, ax, keepDims);
  return record(out, "max", [x], (g) => {
    const keptShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
    const mask = binaryRaw("eq", x, out.view(keptShape)); // 1 at maxima
    const count = reduceRaw("sum", mask, ax, true);
    return [binaryRaw("mul", mask, binaryRaw("div", g.view(keptShape), count))];
  });
}

/** Sum a broadcast gradient down to `shape` (inverse of NumPy broadcasting). */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const off = g.rank - shape.length;
  if (off < 0) throw new ShapeMismatchError("sumToShape", `[${g.shape}] -> [${shape}]`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < off || (shape[i - off] === 1 && g.shape[i] !== 1)) axes.push(i);
  const r = axes.length ? reduceRaw("sum", g, axes, true) : g;
  return r.view(shape);
}

/** f64 reference for sum/max over axes (keepDims shape). */
export function reduceReference(
  kind: "sum" | "mean" | "max",
  x: Float64Array,
  shape: readonly number[],
  axes: number[],
): Float64Array {
  const strides = contiguousStrides(shape);
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outStrides = contiguousStrides(outShape);
  const n = outShape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n).fill(kind === "max" ? -Infinity : 0);
  const count = axes.reduce((a, d) => a * shape[d], 1);
  for (let i = 0; i < x.length; i++) {
    let o = 0;
    for (let d = 0; d < shape.length; d++) {
      const c = Math.floor(i / strides[d]) % shape[d];
      if (!axes.includes(d)) o += c * outStrides[d];
    }
    out[o] = kind === "max" ? Math.max(out[o], x[i]) : out[o] + x[i];
  }
  if (kind === "mean") { for (let i = 0; i < n; i++) out[i] /= count; }
  return out;
}
