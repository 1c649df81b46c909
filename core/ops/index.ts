/**
 * Integer indexing with deterministic scatter-add backwards (WGSL has no f32 atomics, so every gradient element is
 * summed by one invocation, in ascending index position, and results are bit-reproducible):
 *  - indexSelect(x, axis, idx): out = x taken at positions idx (1-D, K entries) along `axis`.
 *  - embedding(weight (V, D), ids (…)) → (…, D) = indexSelect(weight, 0, ids) reshaped.
 *  - gather(x, axis, index) (torch.gather): out[…, j, …] = x[…, index[…, j, …], …], out shape = index shape.
 * Indices are an i32 Tensor or (indexSelect/embedding) a host Int32Array, range-checked on the host. Out-of-range
 * indices inside a Tensor read as 0 and receive no gradient.
 *
 * Backward cost of indexSelect/embedding: the indices are bucketed into a CSR table (offsets per row L, positions
 * sorted stably), then each dx element sums its bucket: O(size(x) + size(g)). With a host Int32Array the table is
 * built on the host; with a GPU Tensor of K > 8 indices one invocation builds it on the GPU (O(L + K) serial work,
 * fine up to vocabularies of ~10⁵–10⁶); K ≤ 8 skips the table and each dx element scans the K indices
 * (O(size(x) · K)). All paths sum in ascending position order, so they agree bit for bit.
 * gather's backward scans the gathered axis: O(size(x) · index.shape[axis]).
 */
import { Tensor } from "../tensor.ts";
import { record } from "../autograd.ts";
import { ShapeMismatchError } from "../errors.ts";
import { contiguousStrides, flatIndex, grid1d, launch, MAX_RANK, normAxes, packParams } from "./kernel.ts";
import { reshape } from "./reshape.ts";

const WG = 256;
const SEL = "struct P { n: u32, len: u32, inner: u32, k: u32 }";

function selectCode() {
  // out (outer, K, inner) ← x (outer, L, inner)
  return () => `
${SEL}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> I: array<i32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${flatIndex(WG)}
  if (i >= p.n) { return; }
  let inn = i % p.inner;
  let k = (i / p.inner) % p.k;
  let o = i / (p.inner * p.k);
  let v = I[k];
  var y = 0.0;
  if (v >= 0 && v < i32(p.len)) { y = X[(o * p.len + u32(v)) * p.inner + inn]; }
  O[i] = y;
}`;
}

function selectBackwardScanCode() {
  // fwd: out[o, k, in] = x[o, idx[k], in]  →  dx[o, v, in] = Σ_{k: idx[k] = v} g[o, k, in]
  return () => `
${SEL}
@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> I: array<i32>;
@group(0) @binding(2) var<storage, read_write> DX: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${flatIndex(WG)}
  if (i >= p.n) { return; }
  let inn = i % p.inner;
  let v = i32((i / p.inner) % p.len);
  let o = i / (p.inner * p.len);
  var acc = 0.0;
  for (var k = 0u; k < p.k; k++) {
    if (I[k] == v) { acc += G[(o * p.k + k) * p.inner + inn]; }
  }
  DX[i] = acc;
}`;
}

function selectBackwardCsrCode() {
  // Same sum as the scan kernel, over the positions bucketed for row v: OFF[v] .. OFF[v + 1] of POS (ascending).
  return () => `
${SEL}
@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> OFF: array<u32>;
@group(0) @binding(2) var<storage, read> POS: array<u32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  _ = POS[0];
  ${flatIndex(WG)}
  if (i >= p.n) { return; }
  let inn = i % p.inner;
  let v = (i / p.inner) % p.len;
  let o = i / (p.inner * p.len);
  var acc = 0.0;
  for (var j = OFF[v]; j < OFF[v + 1u]; j++) { acc += G[(o * p.k + POS[j]) * p.inner + inn]; }
  DX[i] = acc;
}`;
}

/** Index lists at most this long use the scan backward; longer ones build a CSR table on the GPU first. */
const SCAN_MAX = 8;

function csrBuildCode() {
  // One invocation, O(len + K) serial work, no atomics: counts per row, exclusive scan, stable fill.
  // Out-of-range indices are skipped (they read as 0 forward and get no gradient).
  return () => `
${SEL}
@group(0) @binding(0) var<storage, read> I: array<i32>;
@group(0) @binding(1) var<storage, read_write> OFF: array<u32>;
@group(0) @binding(2) var<storage, read_write> CUR: array<u32>;
@group(0) @binding(3) var<storage, read_write> POS: array<u32>;
@group(0) @binding(4) var<uniform> p: P;
@compute @workgroup_size(1)
fn main() {
  for (var v = 0u; v <= p.len; v++) { OFF[v] = 0u; }
  for (var k = 0u; k < p.k; k++) {
    let v = I[k];
    if (v >= 0 && v < i32(p.len)) { OFF[u32(v) + 1u] += 1u; }
  }
  for (var v = 0u; v < p.len; v++) { OFF[v + 1u] += OFF[v]; CUR[v] = OFF[v]; }
  for (var k = 0u; k < p.k; k++) {
    let v = I[k];
    if (v >= 0 && v < i32(p.len)) { POS[CUR[u32(v)]] = k; CUR[u32(v)] += 1u; }
  }
}`;
}

function checkHostIndices(op: string, idx: Int32Array, len: number): void {
  idx.forEach((v, k) => {
    if (!(v >= 0 && v < len)) throw new ShapeMismatchError(op, `index ${v} at position ${k} is outside [0, ${len})`);
  });
}

/** Stable bucketing of positions by index value: offsets (len + 1) and positions (K). */
export function bucketIndices(idx: Int32Array, len: number): { offsets: Uint32Array; positions: Uint32Array } {
  const offsets = new Uint32Array(len + 1);
  for (const v of idx) offsets[v + 1]++;
  for (let v = 0; v < len; v++) offsets[v + 1] += offsets[v];
  const fillAt = offsets.slice(0, len);
  const positions = new Uint32Array(Math.max(1, idx.length));
  idx.forEach((v, k) => (positions[fillAt[v]++] = k));
  return { offsets, positions };
}

/** x taken at positions `idx` (K entries, read as a flat list) along `axis`: shape with axis length → K. */
export function indexSelect(x: Tensor, axis: number, idx: Tensor | Int32Array): Tensor {
  const [ax] = normAxes("indexSelect", axis, x.rank);
  const len = x.shape[ax];
  const inner = x.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const host = idx instanceof Int32Array ? idx : null;
  let it: Tensor;
  if (host) {
    checkHostIndices("indexSelect", host, len);
    it = Tensor.from(host, [host.length], { dtype: "i32" });
  } else {
    it = idx as Tensor;
    if (it.dtype !== "i32") throw new ShapeMismatchError("indexSelect", `indices must be i32, got ${it.dtype}`);
  }
  const k = it.size;
  const outShape = x.shape.map((d, i) => (i === ax ? k : d));
  const out = Tensor.empty(outShape);
  const u = (n: number) => packParams([["u32", n], ["u32", len], ["u32", inner], ["u32", k]]);
  if (out.size > 0) launch("index_select", selectCode(), [x, it, out], u(out.size), grid1d(out.size, WG));
  const result = record(out, "indexSelect", [x], (g) => {
    const dx = Tensor.empty(x.shape);
    if (dx.size === 0) return [dx];
    if (host) {
      const { offsets, positions } = bucketIndices(host, len);
      const off = Tensor.from(offsets, [offsets.length], { dtype: "u32" });
      const pos = Tensor.from(positions, [positions.length], { dtype: "u32" });
      launch("index_select_bwd_csr", selectBackwardCsrCode(), [g, off, pos, dx], u(dx.size), grid1d(dx.size, WG));
      off.dispose();
      pos.dispose();
    } else if (k <= SCAN_MAX) {
      launch("index_select_bwd_scan", selectBackwardScanCode(), [g, it, dx], u(dx.size), grid1d(dx.size, WG));
    } else {
      const off = Tensor.empty([len + 1], "u32");
      const cur = Tensor.empty([len], "u32");
      const pos = Tensor.empty([k], "u32");
      launch("index_csr_build", csrBuildCode(), [it, off, cur, pos], u(0), [1]);
      launch("index_select_bwd_csr", selectBackwardCsrCode(), [g, off, pos, dx], u(dx.size), grid1d(dx.size, WG));
      [off, cur, pos].forEach((t) => t.dispose());
    }
    return [dx];
  });
  if (host && !result.node) it.dispose();
  return result;
}

/** Rows of weight (V, D) for ids (…) → (…, D). Prefer host Int32Array ids for large V (see the file comment). */
export function embedding(weight: Tensor, ids: Tensor | Int32Array): Tensor {
  if (weight.rank !== 2) throw new ShapeMismatchError("embedding", `weight must be (V, D), got [${weight.shape}]`);
  const idsShape = ids instanceof Int32Array ? [ids.length] : ids.shape;
  const rows = indexSelect(weight, 0, ids); // (N, D): indexSelect reads any-shaped ids as a flat list
  const out = reshape(rows, [...idsShape, weight.shape[1]]); // (…, D)
  if (!out.node) rows.dispose();
  return out;
}

const GSTRUCT = `struct P { n: u32, rank: u32, axis: u32, lenAxis: u32,
  xShape: array<vec4<u32>, 2>, xStr: array<vec4<u32>, 2>, iShape: array<vec4<u32>, 2>, iStr: array<vec4<u32>, 2> }`;
const DIM = (t: string, d: string) => `p.${t}[${d} / 4][${d} % 4]`;

function gatherCode() {
  return () => `
${GSTRUCT}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> I: array<i32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${flatIndex(WG)}
  if (i >= p.n) { return; }
  var rem = i;
  var off = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let c = rem % ${DIM("iShape", "d")};
    rem = rem / ${DIM("iShape", "d")};
    if (u32(d) != p.axis) { off += c * ${DIM("xStr", "d")}; }
  }
  let v = I[i];
  var y = 0.0;
  if (v >= 0 && u32(v) < ${DIM("xShape", "p.axis")}) { y = X[off + u32(v) * ${DIM("xStr", "p.axis")}]; }
  O[i] = y;
}`;
}

function gatherBackwardCode() {
  // fwd: out[c] = x[c with c_axis := index[c]]  →  dx[c] = Σ_j [index[c with c_axis := j] = c_axis] · g[same]
  return () => `
${GSTRUCT}
@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> I: array<i32>;
@group(0) @binding(2) var<storage, read_write> DX: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${flatIndex(WG)}
  if (i >= p.n) { return; }
  var rem = i;
  var base = 0u;
  var ca = 0u;
  var inside = true;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let c = rem % ${DIM("xShape", "d")};
    rem = rem / ${DIM("xShape", "d")};
    if (u32(d) == p.axis) { ca = c; }
    else {
      inside = inside && c < ${DIM("iShape", "d")};
      base += c * ${DIM("iStr", "d")};
    }
  }
  var acc = 0.0;
  if (inside) {
    for (var j = 0u; j < p.lenAxis; j++) {
      let k = base + j * ${DIM("iStr", "p.axis")};
      if (I[k] == i32(ca)) { acc += G[k]; }
    }
  }
  DX[i] = acc;
}`;
}

/** torch.gather: index (i32, same rank as x, index.shape[d] ≤ x.shape[d] for d ≠ axis) → out of index's shape. */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  const [ax] = normAxes("gather", axis, x.rank);
  if (index.dtype !== "i32") throw new ShapeMismatchError("gather", `index must be i32, got ${index.dtype}`);
  if (index.rank !== x.rank || index.shape.some((d, i) => i !== ax && d > x.shape[i])) {
    throw new ShapeMismatchError("gather", `index [${index.shape}] does not fit x [${x.shape}] on axis ${ax}`);
  }
  if (x.rank > MAX_RANK) throw new ShapeMismatchError("gather", `rank > ${MAX_RANK}`);
  const params = (n: number) => {
    const u = new Uint32Array(4 + 4 * MAX_RANK);
    u.set([n, x.rank, ax, index.shape[ax]]);
    [x.shape, contiguousStrides(x.shape), index.shape, contiguousStrides(index.shape)].forEach((t, k) =>
      t.forEach((v, i) => (u[4 + k * MAX_RANK + i] = v))
    );
    return u.buffer;
  };
  const out = Tensor.empty(index.shape);
  if (out.size > 0) launch("gather", gatherCode(), [x, index, out], params(out.size), grid1d(out.size, WG));
  return record(out, "gather", [x], (g) => {
    const dx = Tensor.empty(x.shape);
    if (dx.size > 0) launch("gather_bwd", gatherBackwardCode(), [g, index, dx], params(dx.size), grid1d(dx.size, WG));
    return [dx];
  });
}

/** f64 reference for indexSelect. */
export function indexSelectReference(
  x: Float64Array,
  shape: readonly number[],
  axis: number,
  idx: ArrayLike<number>,
): Float64Array {
  const ax = axis < 0 ? axis + shape.length : axis;
  const len = shape[ax];
  const inner = shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const out = new Float64Array(outer * idx.length * inner);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < idx.length; k++) {
      for (let i = 0; i < inner; i++) out[(o * idx.length + k) * inner + i] = x[(o * len + idx[k]) * inner + i];
    }
  }
  return out;
}

/** f64 reference for gather. */
export function gatherReference(
  x: Float64Array,
  shape: readonly number[],
  axis: number,
  index: ArrayLike<number>,
  indexShape: readonly number[],
): Float64Array {
  const ax = axis < 0 ? axis + shape.length : axis;
  const xs = contiguousStrides(shape), is = contiguousStrides(indexShape);
  const out = new Float64Array(index.length);
  for (let i = 0; i < index.length; i++) {
    let off = 0;
    for (let d = 0; d < shape.length; d++) {
      const c = d === ax ? index[i] : Math.floor(i / is[d]) % indexShape[d];
      off += c * xs[d];
    }
    out[i] = x[off];
  }
  return out;
}
