/**
 * WGSL integer indexing with deterministic scatter-add backwards (WGSL has no f32 atomics, so every gradient element
 * is summed by one invocation, in ascending index position; see core/ops/index.ts for the cost model):
 * indexSelect and its backward by scan (K ≤ 8), by a CSR table built on the host (host indices) or on the GPU;
 * gather and its backward.
 */
import { bindings } from "../wgsl.ts";
import { flatMain, grid1d, launch, packParams } from "../launch.ts";
import { contiguousStrides, MAX_RANK } from "../../kernels/shapes.ts";
import type { GatherPlan, IndexPlan } from "../../kernels/types.ts";
import { Tensor } from "../../tensor.ts";

const WG = 256;
const SEL = "struct P { n: u32, len: u32, inner: u32, k: u32 }";

function selectCode(f16: boolean) {
  // out (outer, K, inner) ← x (outer, L, inner); f16 x: bit pairs in u32 words, widened by unpack2x16float
  const x = (i: string) => f16 ? `unpack2x16float(X[(${i}) >> 1u])[(${i}) & 1u]` : `X[${i}]`;
  return () => `
${SEL}
${bindings([f16 ? "in X: u32" : "in X", "in I: i32", "out O"], "P")}
${flatMain(WG)}
  let inn = i % p.inner;
  let k = (i / p.inner) % p.k;
  let o = i / (p.inner * p.k);
  let v = I[k];
  var y = 0.0;
  if (v >= 0 && v < i32(p.len)) { y = ${x("(o * p.len + u32(v)) * p.inner + inn")}; }
  O[i] = y;
}`;
}

function backwardScanCode() {
  // fwd: out[o, k, in] = x[o, idx[k], in]  →  dx[o, v, in] = Σ_{k: idx[k] = v} g[o, k, in]
  return () => `
${SEL}
${bindings(["in G", "in I: i32", "out DX"], "P")}
${flatMain(WG)}
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

function backwardCsrCode() {
  // Same sum as the scan kernel, over the positions bucketed for row v: OFF[v] .. OFF[v + 1] of POS (ascending).
  return () => `
${SEL}
${bindings(["in G", "in OFF: u32", "in POS: u32", "out DX"], "P")}
${flatMain(WG)}
  _ = POS[0];
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
${bindings(["in I: i32", "out OFF: u32", "out CUR: u32", "out POS: u32"], "P")}
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

const selParams = (n: number, p: IndexPlan) => packParams([["u32", n], ["u32", p.len], ["u32", p.inner], ["u32", p.k]]);

export function indexSelect(x: Tensor, idx: Tensor, out: Tensor, p: IndexPlan): void {
  const f16 = x.dtype === "f16";
  launch(
    f16 ? "index_select_h" : "index_select",
    selectCode(f16),
    [x, idx, out],
    selParams(out.size, p),
    grid1d(out.size, WG),
  );
}

export function indexSelectBackward(g: Tensor, idx: Tensor, host: Int32Array | null, dx: Tensor, p: IndexPlan): void {
  const u = selParams(dx.size, p);
  const grid = grid1d(dx.size, WG);
  if (host) {
    const { offsets, positions } = bucketIndices(host, p.len);
    const off = Tensor.from(offsets, [offsets.length], { dtype: "u32", device: "webgpu" });
    const pos = Tensor.from(positions, [positions.length], { dtype: "u32", device: "webgpu" });
    launch("index_select_bwd_csr", backwardCsrCode(), [g, off, pos, dx], u, grid);
    off.dispose();
    pos.dispose();
  } else if (p.k <= SCAN_MAX) {
    launch("index_select_bwd_scan", backwardScanCode(), [g, idx, dx], u, grid);
  } else {
    const off = Tensor.empty([p.len + 1], "u32", "webgpu");
    const cur = Tensor.empty([p.len], "u32", "webgpu");
    const pos = Tensor.empty([p.k], "u32", "webgpu");
    launch("index_csr_build", csrBuildCode(), [idx, off, cur, pos], selParams(0, p), [1]);
    launch("index_select_bwd_csr", backwardCsrCode(), [g, off, pos, dx], u, grid);
    [off, cur, pos].forEach((t) => t.dispose());
  }
}

const GSTRUCT = `struct P { n: u32, rank: u32, axis: u32, lenAxis: u32,
  xShape: array<vec4<u32>, 2>, xStr: array<vec4<u32>, 2>, iShape: array<vec4<u32>, 2>, iStr: array<vec4<u32>, 2> }`;
const DIM = (t: string, d: string) => `p.${t}[${d} / 4][${d} % 4]`;

function gatherCode() {
  return () => `
${GSTRUCT}
${bindings(["in X", "in I: i32", "out O"], "P")}
${flatMain(WG)}
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
${bindings(["in G", "in I: i32", "out DX"], "P")}
${flatMain(WG)}
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

function gatherParams(n: number, p: GatherPlan): ArrayBuffer {
  const u = new Uint32Array(4 + 4 * MAX_RANK);
  u.set([n, p.rank, p.axis, p.indexShape[p.axis]]);
  [p.xShape, contiguousStrides(p.xShape), p.indexShape, contiguousStrides(p.indexShape)].forEach((t, k) =>
    t.forEach((v, i) => (u[4 + k * MAX_RANK + i] = v))
  );
  return u.buffer;
}

export function gather(x: Tensor, index: Tensor, out: Tensor, p: GatherPlan): void {
  launch("gather", gatherCode(), [x, index, out], gatherParams(out.size, p), grid1d(out.size, WG));
}

export function gatherBackward(g: Tensor, index: Tensor, dx: Tensor, p: GatherPlan): void {
  launch("gather_bwd", gatherBackwardCode(), [g, index, dx], gatherParams(dx.size, p), grid1d(dx.size, WG));
}
