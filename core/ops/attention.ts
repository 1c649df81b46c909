/**
 * Scaled-dot-product attention, fused and tiled in the FlashAttention style: each invocation owns `qr` query rows,
 * keeps q and the output accumulator in registers, walks the visible keys (`bc` keys per unrolled step) with an
 * online softmax (running max m and sum l, acc and l rescaled by exp(m_old − m_new) as m grows), and writes O and the
 * per-row logsumexp. No Tq × Tk matrix is ever stored in GPU memory, forward or backward.
 *
 * Shapes (B batch, Hq query heads, Hkv key/value heads, Tq queries, Tk keys, D head dim, D % 4 == 0):
 *   q (B, Hq, Tq, D), k and v (B, Hkv, Tk, D), out (B, Hq, Tq, D), lse (B, Hq, Tq).
 * Grouped-query heads: Hq % Hkv == 0 and query head h reads KV head floor(h / (Hq / Hkv)).
 *
 * Visibility of key j to query i (all must hold):
 * - causal: j ≤ i + (Tk − Tq) (bottom-right aligned, so decoding with a KV cache works);
 * - cuSeqlens / segmentIds (Tq == Tk): i and j in the same segment (block-diagonal; the vision tower's window and
 *   per-frame attention); the key loop only visits the segment, so windows cost O(Σ len²), not O(T²);
 * - mask broadcastable to (B, Hq, Tq, Tk): "additive" (default) adds the value to the score, and values ≤ −1e30
 *   (including −Infinity) mark the key invisible; "binary" keeps keys where the mask is non-zero.
 * A row with no visible key gives out = 0 and lse = −Infinity (never NaN); its gradients are 0.
 *
 * Backward (FlashAttention-2): Δ_i = Σ_d dO_i·O_i; one kernel per query row recomputes p_ij = exp(s_ij − lse_i) and
 * accumulates dq; one kernel per key row of each KV head loops over the query heads of its group and accumulates
 * dk and dv (so dk/dv are summed over the query heads sharing the KV head, with no atomics). The mask gets no
 * gradient. Tile sizes are parameters (`AttentionTiling`).
 */
import { Tensor } from "../tensor.ts";
import { record } from "../autograd.ts";
import { ShapeMismatchError } from "../errors.ts";
import { broadcastShapes, broadcastStrides, grid1d, launch, packParams } from "./kernel.ts";
import { GpuContext } from "../gpu/context.ts";

export interface AttentionTiling {
  /** Invocations per workgroup (along query rows, or key rows in the dk/dv kernel). */
  wg: number;
  /** Keys per unrolled step of the key loop (code size and compile time grow with bc · qr). */
  bc: number;
  /** Query rows per invocation (register tile; each loaded key/value row is reused qr times). */
  qr: number;
  /** Rows per invocation in the backward kernels (query rows for dq, key rows for dk/dv). */
  bwdRows: number;
}

/**
 * Tile sizes. On llvmpipe each K/V load is paid once per invocation, so rows per invocation (qr) set the speed, but
 * LLVM compile time grows steeply with qr · D (D = 64: qr 4 ≈ 5 s, qr 8 ≈ 19 s on this machine, uncached); wg = 8
 * is one 256-bit SIMD batch. A real GPU wants qr 1–2 and wg 64–128.
 */
export function attentionTiling(): AttentionTiling {
  return { wg: 8, bc: 1, qr: 4, bwdRows: 2 };
}

export interface AttentionOptions {
  causal?: boolean;
  /** Broadcastable to (B, Hq, Tq, Tk), f32. */
  mask?: Tensor;
  maskKind?: "additive" | "binary";
  /** Score scale; default 1/√D. */
  scale?: number;
  /** Segment boundaries [0, …, T] for block-diagonal attention (Tq == Tk == last entry). */
  cuSeqlens?: readonly number[];
  /** Alternative to cuSeqlens: one id per token; equal ids must form contiguous runs. */
  segmentIds?: ArrayLike<number>;
  tiling?: Partial<AttentionTiling>;
}

interface Dims {
  B: number;
  Hq: number;
  Hkv: number;
  Tq: number;
  Tk: number;
  D: number;
}

const NEG = "-3.0e38";

interface Variant {
  D: number;
  causal: boolean;
  mask: "none" | "additive" | "binary";
  range: boolean;
}

const HEADER = `
struct P { B: u32, Hq: u32, Hkv: u32, Tq: u32, Tk: u32, scale: f32, causalOff: i32,
  msb: u32, msh: u32, msq: u32, msk: u32, bc: u32 }`;

/** Visible key range [a, e) of query `row` (range table and causal limit). */
function rangeLines(v: Variant, row: string): string {
  return `var a = 0u; var e = p.Tk;
    ${v.range ? `a = R[2u * ${row}]; e = R[2u * ${row} + 1u];` : ""}
    ${v.causal ? `e = min(e, u32(max(i32(${row}) + p.causalOff + 1, 0)));` : ""}`;
}

/**
 * One key of the online softmax for QR query rows: s = q·k (+ mask), m' = max(m, s), α = exp(m − m'),
 * p = exp(s − m'), l = α·l + p, acc = α·acc + p·v. Branch-free on purpose: a data-dependent rescale branch made
 * llvmpipe's LLVM compile take minutes at D = 64. All array indices are compile-time constants after unrolling.
 */
function keyStep(v: Variant, t: AttentionTiling, u: number): string {
  const D4 = v.D / 4, QR = t.qr;
  return `{
      let j = kb + ${u}u;
      let jc = min(j, p.Tk - 1u);
      let kOff = (kHead + jc) * ${D4}u;
      var dots = array<f32, ${QR}>();
      for (var d = 0u; d < ${D4}u; d++) {
        let kv = K[kOff + d];
        for (var r = 0u; r < ${QR}u; r++) { dots[r] += dot(q[r][d], kv); }
      }
      var pr = array<f32, ${QR}>();
      var alpha = array<f32, ${QR}>();
      for (var r = 0u; r < ${QR}u; r++) {
        var sc = dots[r];
        var vis = j >= lo[r] && j < hi[r];
        ${
    v.mask === "none"
      ? ""
      : v.mask === "binary"
      ? "vis = vis && M[b * p.msb + h * p.msh + rows[r] * p.msq + jc * p.msk] != 0.0;"
      : "let mv = M[b * p.msb + h * p.msh + rows[r] * p.msq + jc * p.msk]; vis = vis && mv > -1.0e30; sc += mv;"
  }
        let mNew = select(m[r], max(m[r], sc), vis);
        alpha[r] = exp(m[r] - mNew);
        pr[r] = select(0.0, exp(sc - mNew), vis);
        l[r] = l[r] * alpha[r] + pr[r];
        m[r] = mNew;
      }
      for (var d = 0u; d < ${D4}u; d++) {
        let vv = V[kOff + d];
        for (var r = 0u; r < ${QR}u; r++) { acc[r][d] = acc[r][d] * alpha[r] + pr[r] * vv; }
      }
    }`;
}

function forwardCode(v: Variant, t: AttentionTiling) {
  const D4 = v.D / 4, QR = t.qr, BC = t.bc;
  return () =>
    `${HEADER}
@group(0) @binding(0) var<storage, read> Q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> K: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> V: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> M: array<f32>;
@group(0) @binding(4) var<storage, read> R: array<u32>;
@group(0) @binding(5) var<storage, read_write> O: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> L: array<f32>;
@group(0) @binding(7) var<uniform> p: P;
@compute @workgroup_size(${t.wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  _ = M[0];
  _ = R[0];
  let h = wid.y;
  let b = wid.z;
  let kvh = h / (p.Hq / p.Hkv);
  // No early return: llvmpipe emits one scalar load for a uniform address only where lane 0 is known active.
  let row0 = (wid.x * ${t.wg}u + lid) * ${QR}u;
  let qHead = (b * p.Hq + h) * p.Tq;
  let kHead = (b * p.Hkv + kvh) * p.Tk;
  var q: array<array<vec4<f32>, ${D4}>, ${QR}>;
  var acc: array<array<vec4<f32>, ${D4}>, ${QR}>;
  var lo: array<u32, ${QR}>;
  var hi: array<u32, ${QR}>;
  var rows: array<u32, ${QR}>;
  var m: array<f32, ${QR}>;
  var l: array<f32, ${QR}>;
  // The key loop bounds depend only on the workgroup (not the lane), so K/V row addresses are uniform and llvmpipe
  // loads them once per SIMD batch instead of gathering per lane.
  let wgRow0 = wid.x * ${t.wg * QR}u;
  let wgRowLast = min(wgRow0 + ${t.wg * QR}u, p.Tq) - 1u;
  var loAll = 0u;
  var hiAll = p.Tk;
  ${v.range ? "loAll = R[2u * wgRow0]; hiAll = R[2u * wgRowLast + 1u];" : ""}
  ${v.causal ? "hiAll = min(hiAll, u32(max(i32(wgRowLast) + p.causalOff + 1, 0)));" : ""}
  for (var r = 0u; r < ${QR}u; r++) {
    let row = min(row0 + r, p.Tq - 1u);
    rows[r] = row;
    for (var d = 0u; d < ${D4}u; d++) {
      q[r][d] = Q[(qHead + row) * ${D4}u + d] * p.scale;
      acc[r][d] = vec4<f32>(0.0);
    }
    ${rangeLines(v, "row")}
    if (row0 + r >= p.Tq) { e = a; }
    lo[r] = a;
    hi[r] = e;
    m[r] = ${NEG};
    l[r] = 0.0;
  }
  for (var kb = loAll; kb < hiAll; kb += ${BC}u) {
    ${Array.from({ length: BC }, (_, u) => keyStep(v, t, u)).join("\n    ")}
  }
  for (var r = 0u; r < ${QR}u; r++) {
    let row = row0 + r;
    if (row >= p.Tq) { break; }
    let inv = select(0.0, 1.0 / l[r], l[r] > 0.0);
    for (var d = 0u; d < ${D4}u; d++) { O[(qHead + row) * ${D4}u + d] = acc[r][d] * inv; }
    L[qHead + row] = select(bitcast<f32>(0xff800000u), m[r] + log(l[r]), l[r] > 0.0);
  }
}`;
}

/** S[2i] = lse_i, S[2i+1] = Δ_i = Σ dO_i·O_i. */
function deltaCode(D4: number, wg: number) {
  return () => `
struct P { n: u32 }
@group(0) @binding(0) var<storage, read> O: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> G: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> L: array<f32>;
@group(0) @binding(3) var<storage, read_write> S: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${wg}u;
  if (i >= p.n) { return; }
  var acc = 0.0;
  for (var d = 0u; d < ${D4}u; d++) { acc += dot(O[i * ${D4}u + d], G[i * ${D4}u + d]); }
  S[2u * i] = L[i];
  S[2u * i + 1u] = acc;
}`;
}

const BWD_BINDINGS = `
@group(0) @binding(0) var<storage, read> Q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> K: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> V: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> M: array<f32>;
@group(0) @binding(4) var<storage, read> R: array<u32>;
@group(0) @binding(5) var<storage, read> S: array<f32>;
@group(0) @binding(6) var<storage, read> G: array<vec4<f32>>;`;

/** Visibility and mask for score `sc` of (query row, key j) in head h: updates `vis` and `sc`. */
function visLine(v: Variant, row: string, h: string, j: string): string {
  if (v.mask === "none") return "";
  const idx = `b * p.msb + ${h} * p.msh + ${row} * p.msq + ${j} * p.msk`;
  return v.mask === "binary"
    ? `vis = vis && M[${idx}] != 0.0;`
    : `{ let mv = M[${idx}]; vis = vis && mv > -1.0e30; sc += mv; }`;
}

/**
 * dq_i = scale · Σ_j p_ij (dp_ij − Δ_i) k_j with p_ij = exp(s_ij − lse_i), dp_ij = dO_i·v_j; `rows` query rows per
 * invocation, key loop bounds uniform per workgroup, branch-free (as in the forward).
 */
function dqCode(v: Variant, wg: number, rows: number) {
  const D4 = v.D / 4, QR = rows;
  return () =>
    `${HEADER}${BWD_BINDINGS}
@group(0) @binding(7) var<storage, read_write> DQ: array<vec4<f32>>;
@group(0) @binding(8) var<uniform> p: P;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  _ = M[0];
  _ = R[0];
  let h = wid.y;
  let b = wid.z;
  let kvh = h / (p.Hq / p.Hkv);
  let row0 = (wid.x * ${wg}u + lid) * ${QR}u;
  let qHead = (b * p.Hq + h) * p.Tq;
  let kHead = (b * p.Hkv + kvh) * p.Tk;
  let wgRow0 = wid.x * ${wg * QR}u;
  let wgRowLast = min(wgRow0 + ${wg * QR}u, p.Tq) - 1u;
  var loAll = 0u;
  var hiAll = p.Tk;
  ${v.range ? "loAll = R[2u * wgRow0]; hiAll = R[2u * wgRowLast + 1u];" : ""}
  ${v.causal ? "hiAll = min(hiAll, u32(max(i32(wgRowLast) + p.causalOff + 1, 0)));" : ""}
  var q: array<array<vec4<f32>, ${D4}>, ${QR}>;
  var g: array<array<vec4<f32>, ${D4}>, ${QR}>;
  var dq: array<array<vec4<f32>, ${D4}>, ${QR}>;
  var lo: array<u32, ${QR}>;
  var hi: array<u32, ${QR}>;
  var rows: array<u32, ${QR}>;
  var lse: array<f32, ${QR}>;
  var delta: array<f32, ${QR}>;
  for (var r = 0u; r < ${QR}u; r++) {
    let row = min(row0 + r, p.Tq - 1u);
    rows[r] = row;
    for (var d = 0u; d < ${D4}u; d++) {
      q[r][d] = Q[(qHead + row) * ${D4}u + d] * p.scale;
      g[r][d] = G[(qHead + row) * ${D4}u + d];
      dq[r][d] = vec4<f32>(0.0);
    }
    lse[r] = S[2u * (qHead + row)];
    delta[r] = S[2u * (qHead + row) + 1u];
    ${rangeLines(v, "row")}
    if (row0 + r >= p.Tq) { e = a; }
    lo[r] = a;
    hi[r] = e;
  }
  for (var j = loAll; j < hiAll; j++) {
    let kOff = (kHead + j) * ${D4}u;
    var kr = array<vec4<f32>, ${D4}>();
    var dots = array<f32, ${QR}>();
    var dps = array<f32, ${QR}>();
    for (var d = 0u; d < ${D4}u; d++) {
      let kv = K[kOff + d];
      let vv = V[kOff + d];
      kr[d] = kv;
      for (var r = 0u; r < ${QR}u; r++) {
        dots[r] += dot(q[r][d], kv);
        dps[r] += dot(g[r][d], vv);
      }
    }
    var ds = array<f32, ${QR}>();
    for (var r = 0u; r < ${QR}u; r++) {
      var sc = dots[r];
      var vis = j >= lo[r] && j < hi[r];
      ${visLine(v, "rows[r]", "h", "j")}
      let pij = select(0.0, exp(sc - lse[r]), vis);
      ds[r] = pij * (dps[r] - delta[r]);
    }
    for (var d = 0u; d < ${D4}u; d++) {
      for (var r = 0u; r < ${QR}u; r++) { dq[r][d] += ds[r] * kr[d]; }
    }
  }
  for (var r = 0u; r < ${QR}u; r++) {
    let row = row0 + r;
    if (row >= p.Tq) { break; }
    for (var d = 0u; d < ${D4}u; d++) { DQ[(qHead + row) * ${D4}u + d] = dq[r][d] * p.scale; }
  }
}`;
}

/**
 * Per key row j of KV head c (`rows` keys per invocation): dv_j = Σ_{h∈c, i} p_ij dO_i ;
 * dk_j = scale · Σ_{h∈c, i} p_ij (dp_ij − Δ_i) q_i. Query loop bounds uniform per workgroup, branch-free.
 */
function dkvCode(v: Variant, wg: number, rows: number) {
  const D4 = v.D / 4, KR = rows;
  return () =>
    `${HEADER}${BWD_BINDINGS}
@group(0) @binding(7) var<storage, read_write> DKV: array<vec4<f32>>;
@group(0) @binding(8) var<uniform> p: P;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  _ = M[0];
  _ = R[0];
  let kvh = wid.y;
  let b = wid.z;
  let grp = p.Hq / p.Hkv;
  let j0 = (wid.x * ${wg}u + lid) * ${KR}u;
  let kHead = (b * p.Hkv + kvh) * p.Tk;
  let wgJ0 = wid.x * ${wg * KR}u;
  let wgJLast = min(wgJ0 + ${wg * KR}u, p.Tk) - 1u;
  var iLoAll = 0u;
  var iHiAll = p.Tq;
  ${v.range ? "iLoAll = R[2u * wgJ0]; iHiAll = R[2u * wgJLast + 1u];" : ""}
  ${v.causal ? "iLoAll = max(iLoAll, u32(max(i32(wgJ0) - p.causalOff, 0)));" : ""}
  var k: array<array<vec4<f32>, ${D4}>, ${KR}>;
  var vr: array<array<vec4<f32>, ${D4}>, ${KR}>;
  var dk: array<array<vec4<f32>, ${D4}>, ${KR}>;
  var dv: array<array<vec4<f32>, ${D4}>, ${KR}>;
  var iLo: array<u32, ${KR}>;
  var iHi: array<u32, ${KR}>;
  var cols: array<u32, ${KR}>;
  for (var r = 0u; r < ${KR}u; r++) {
    let j = min(j0 + r, p.Tk - 1u);
    cols[r] = j;
    for (var d = 0u; d < ${D4}u; d++) {
      k[r][d] = K[(kHead + j) * ${D4}u + d] * p.scale;
      vr[r][d] = V[(kHead + j) * ${D4}u + d];
      dk[r][d] = vec4<f32>(0.0);
      dv[r][d] = vec4<f32>(0.0);
    }
    var a = 0u;
    var e = p.Tq;
    ${v.range ? "a = R[2u * j]; e = R[2u * j + 1u];" : ""}
    ${v.causal ? "a = max(a, u32(max(i32(j) - p.causalOff, 0)));" : ""}
    if (j0 + r >= p.Tk) { e = 0u; }
    iLo[r] = a;
    iHi[r] = e;
  }
  for (var hh = 0u; hh < grp; hh++) {
    let h = kvh * grp + hh;
    let qHead = (b * p.Hq + h) * p.Tq;
    for (var i = iLoAll; i < iHiAll; i++) {
      let qOff = (qHead + i) * ${D4}u;
      var qr = array<vec4<f32>, ${D4}>();
      var gr = array<vec4<f32>, ${D4}>();
      var dots = array<f32, ${KR}>();
      var dps = array<f32, ${KR}>();
      for (var d = 0u; d < ${D4}u; d++) {
        let qv = Q[qOff + d];
        let gv = G[qOff + d];
        qr[d] = qv;
        gr[d] = gv;
        for (var r = 0u; r < ${KR}u; r++) {
          dots[r] += dot(qv, k[r][d]);
          dps[r] += dot(gv, vr[r][d]);
        }
      }
      let lse = S[2u * (qHead + i)];
      let delta = S[2u * (qHead + i) + 1u];
      var pr = array<f32, ${KR}>();
      var ds = array<f32, ${KR}>();
      for (var r = 0u; r < ${KR}u; r++) {
        var sc = dots[r];
        var vis = i >= iLo[r] && i < iHi[r];
        ${visLine(v, "i", "h", "cols[r]")}
        pr[r] = select(0.0, exp(sc - lse), vis);
        ds[r] = pr[r] * (dps[r] - delta);
      }
      for (var d = 0u; d < ${D4}u; d++) {
        for (var r = 0u; r < ${KR}u; r++) {
          dv[r][d] += pr[r] * gr[d];
          dk[r][d] += ds[r] * qr[d];
        }
      }
    }
  }
  let n4 = p.B * p.Hkv * p.Tk * ${D4}u;
  for (var r = 0u; r < ${KR}u; r++) {
    let j = j0 + r;
    if (j >= p.Tk) { break; }
    for (var d = 0u; d < ${D4}u; d++) {
      DKV[(kHead + j) * ${D4}u + d] = dk[r][d] * p.scale;
      DKV[n4 + (kHead + j) * ${D4}u + d] = dv[r][d];
    }
  }
}`;
}

function checkDims(q: Tensor, k: Tensor, v: Tensor): Dims {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4 || k.shape.join() !== v.shape.join()) {
    throw new ShapeMismatchError("attention", `q [${q.shape}], k [${k.shape}], v [${v.shape}]: need 4-D, k = v shape`);
  }
  const [B, Hq, Tq, D] = q.shape;
  const [Bk, Hkv, Tk, Dk] = k.shape;
  if (Bk !== B || Dk !== D || Hkv === 0 || Hq % Hkv !== 0) {
    throw new ShapeMismatchError("attention", `q [${q.shape}] vs k/v [${k.shape}]: batch, head dim or Hq % Hkv`);
  }
  if (D % 4 !== 0) throw new ShapeMismatchError("attention", `head dim ${D} must be a multiple of 4`);
  return { B, Hq, Hkv, Tq, Tk, D };
}

/** Per-query [lo, hi) key range from segment boundaries (host). */
export function segmentRanges(T: number, opts: Pick<AttentionOptions, "cuSeqlens" | "segmentIds">): Uint32Array | null {
  let cu = opts.cuSeqlens ? [...opts.cuSeqlens] : null;
  if (!cu && opts.segmentIds) {
    const ids = opts.segmentIds;
    cu = [0];
    const seen = new Set<number>();
    for (let i = 1; i <= ids.length; i++) {
      if (i === ids.length || ids[i] !== ids[i - 1]) {
        if (seen.has(ids[i - 1])) throw new ShapeMismatchError("attention", "segmentIds runs must be contiguous");
        seen.add(ids[i - 1]);
        cu.push(i);
      }
    }
  }
  if (!cu) return null;
  if (cu[0] !== 0 || cu[cu.length - 1] !== T || cu.some((c, i) => i > 0 && c < cu![i - 1])) {
    throw new ShapeMismatchError("attention", `cuSeqlens [${cu}] must rise from 0 to T = ${T}`);
  }
  const r = new Uint32Array(2 * T);
  for (let s = 0; s + 1 < cu.length; s++) {
    for (let i = cu[s]; i < cu[s + 1]; i++) {
      r[2 * i] = cu[s];
      r[2 * i + 1] = cu[s + 1];
    }
  }
  return r;
}

interface Prepared {
  dims: Dims;
  variant: Variant;
  params: ArrayBuffer;
  mask: Tensor | null;
  range: Tensor | null;
  tiling: AttentionTiling;
}

function prepare(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Prepared {
  const dims = checkDims(q, k, v);
  const { B, Hq, Tq, Tk, D } = dims;
  const ranges = segmentRanges(Tq, opts);
  if (ranges && Tq !== Tk) throw new ShapeMismatchError("attention", "segments need Tq == Tk");
  let ms = [0, 0, 0, 0];
  if (opts.mask) {
    const full = [B, Hq, Tq, Tk];
    const bs = broadcastShapes("attention mask", opts.mask.shape, full);
    if (bs.join() !== full.join() || opts.mask.rank > 4) {
      throw new ShapeMismatchError("attention", `mask [${opts.mask.shape}] does not broadcast to [${full}]`);
    }
    ms = broadcastStrides(opts.mask.shape, full);
  }
  const tiling = { ...attentionTiling(), ...opts.tiling };
  const variant: Variant = {
    D,
    causal: !!opts.causal,
    mask: opts.mask ? opts.maskKind ?? "additive" : "none",
    range: !!ranges,
  };
  const params = packParams([
    ["u32", B],
    ["u32", Hq],
    ["u32", dims.Hkv],
    ["u32", Tq],
    ["u32", Tk],
    ["f32", opts.scale ?? 1 / Math.sqrt(D)],
    ["i32", Tk - Tq],
    ["u32", ms[0]],
    ["u32", ms[1]],
    ["u32", ms[2]],
    ["u32", ms[3]],
    ["u32", tiling.bc],
  ]);
  const range = ranges ? Tensor.from(ranges, [Tq, 2], { dtype: "u32" }) : null;
  return { dims, variant, params, mask: opts.mask ?? null, range, tiling };
}

function key(op: string, v: Variant, extra: string): string {
  return `attn_${op}_d${v.D}_${+v.causal}${v.mask}${+v.range}_${extra}`;
}

function forwardRaw(q: Tensor, k: Tensor, v: Tensor, pr: Prepared): { out: Tensor; lse: Tensor } {
  const { B, Hq, Tq } = pr.dims;
  const out = Tensor.empty(q.shape);
  const lse = Tensor.empty([B, Hq, Tq]);
  if (out.size === 0) return { out, lse };
  const t = pr.tiling;
  const gx = Math.ceil(Tq / (t.wg * t.qr));
  launch(
    key("fwd", pr.variant, `${t.wg}x${t.bc}x${t.qr}`),
    forwardCode(pr.variant, t),
    [q, k, v, pr.mask ?? q, pr.range ?? q, out, lse],
    pr.params,
    [gx, Hq, B],
  );
  return { out, lse };
}

function backwardRaw(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  out: Tensor,
  lse: Tensor,
  g: Tensor,
  pr: Prepared,
): [Tensor, Tensor, Tensor] {
  const { B, Hq, Hkv, Tq, Tk, D } = pr.dims;
  const wg = pr.tiling.wg, br = pr.tiling.bwdRows;
  const stats = Tensor.empty([B, Hq, Tq, 2]);
  const nRows = B * Hq * Tq;
  launch(
    `attn_delta_d${D}`,
    deltaCode(D / 4, 64),
    [out, g, lse, stats],
    packParams([["u32", nRows]]),
    grid1d(nRows, 64),
  );
  const dq = Tensor.empty(q.shape);
  const inputs = [q, k, v, pr.mask ?? q, pr.range ?? q, stats, g];
  launch(key("dq", pr.variant, `${wg}x${br}`), dqCode(pr.variant, wg, br), [...inputs, dq], pr.params, [
    Math.ceil(Tq / (wg * br)),
    Hq,
    B,
  ]);
  const dkv = Tensor.empty([2, B, Hkv, Tk, D]);
  launch(key("dkv", pr.variant, `${wg}x${br}`), dkvCode(pr.variant, wg, br), [...inputs, dkv], pr.params, [
    Math.ceil(Tk / (wg * br)),
    Hkv,
    B,
  ]);
  stats.dispose();
  const half = k.size * 4;
  const dk = Tensor.empty(k.shape), dv = Tensor.empty(v.shape);
  const ctx = GpuContext.current();
  ctx.copy(dkv.buffer, 0, dk.buffer, 0, half);
  ctx.copy(dkv.buffer, half, dv.buffer, 0, half);
  dkv.dispose();
  return [dq, dk, dv];
}

/**
 * softmax(q·kᵀ·scale + mask) · v per head, with GQA, causal/segment/mask visibility (see the file header).
 * q (B, Hq, Tq, D), k/v (B, Hkv, Tk, D) → (B, Hq, Tq, D).
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions): Tensor;
export function attention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: AttentionOptions & { returnLse: true },
): { out: Tensor; lse: Tensor };
export function attention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: AttentionOptions & { returnLse?: boolean } = {},
): Tensor | { out: Tensor; lse: Tensor } {
  const pr = prepare(q, k, v, opts);
  const { out, lse } = forwardRaw(q, k, v, pr);
  // fwd: s = q·kᵀ·scale + mask, p = softmax(s) over visible keys, o = p·v, lse = log Σ exp(s)
  record(out, "attention", [q, k, v], (g) => {
    // dv = pᵀ·dO ; dp = dO·vᵀ ; ds = p ⊙ (dp − Δ), Δ = rowsum(dO ⊙ o) ; dq = ds·k·scale ; dk = dsᵀ·q·scale
    const grads = backwardRaw(q, k, v, out, lse, g, pr);
    pr.range?.dispose();
    if (!opts.returnLse) lse.dispose();
    return grads;
  });
  if (!out.requiresGrad) pr.range?.dispose();
  if (opts.returnLse) return { out, lse };
  if (!out.requiresGrad) lse.dispose();
  return out;
}

/** f64 reference: { out (B, Hq, Tq, D), lse (B, Hq, Tq) }; mask given as flat data + shape. */
export function attentionReference(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  dims: Dims,
  opts: {
    causal?: boolean;
    mask?: { data: Float64Array; shape: readonly number[] };
    maskKind?: "additive" | "binary";
    scale?: number;
    cuSeqlens?: readonly number[];
    segmentIds?: ArrayLike<number>;
  } = {},
): { out: Float64Array; lse: Float64Array } {
  const { B, Hq, Hkv, Tq, Tk, D } = dims;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const ranges = segmentRanges(Tq, opts);
  const ms = opts.mask ? broadcastStrides(opts.mask.shape, [B, Hq, Tq, Tk]) : null;
  const out = new Float64Array(B * Hq * Tq * D), lse = new Float64Array(B * Hq * Tq);
  const s = new Float64Array(Tk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const c = Math.floor(h / (Hq / Hkv));
      for (let i = 0; i < Tq; i++) {
        let mx = -Infinity;
        for (let j = 0; j < Tk; j++) {
          let visible = !opts.causal || j <= i + Tk - Tq;
          if (ranges) visible &&= j >= ranges[2 * i] && j < ranges[2 * i + 1];
          let sc = 0;
          for (let d = 0; d < D; d++) sc += q[((b * Hq + h) * Tq + i) * D + d] * k[((b * Hkv + c) * Tk + j) * D + d];
          sc *= scale;
          if (ms && opts.mask) {
            const mv = opts.mask.data[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]];
            if (opts.maskKind === "binary") visible &&= mv !== 0;
            else if (mv <= -1e30) visible = false;
            else sc += mv;
          }
          s[j] = visible ? sc : -Infinity;
          mx = Math.max(mx, s[j]);
        }
        const row = (b * Hq + h) * Tq + i;
        if (mx === -Infinity) {
          lse[row] = -Infinity;
          continue;
        }
        let sum = 0;
        for (let j = 0; j < Tk; j++) sum += s[j] === -Infinity ? 0 : Math.exp(s[j] - mx);
        lse[row] = mx + Math.log(sum);
        for (let j = 0; j < Tk; j++) {
          if (s[j] === -Infinity) continue;
          const pj = Math.exp(s[j] - mx) / sum;
          for (let d = 0; d < D; d++) out[row * D + d] += pj * v[((b * Hkv + c) * Tk + j) * D + d];
        }
      }
    }
  }
  return { out, lse };
}
