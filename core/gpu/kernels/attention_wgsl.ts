/**
 * WGSL builders for the attention kernels (forward, Δ, dq, dk/dv); see core/ops/attention.ts for the algorithm, shapes
 * and visibility rules. Loop shapes follow what llvmpipe compiles quickly and runs well: compile-time constant
 * private-array indices (runtime indices are very slow there), branch-free online softmax, workgroup-uniform key /
 * query loop bounds (uniform K/V addresses), runtime-bounded outer loops so LLVM does not unroll them.
 * Note (naga): a `var` without initializer inside a loop is not re-zeroed per iteration (gfx-rs/wgpu#9489), so
 * loop-local accumulators here always have explicit initializers.
 */
import { bindings } from "../wgsl.ts";
import type { AttentionPlan } from "../../kernels/types.ts";

type AttentionTiling = AttentionPlan["tiling"];

const NEG = "-3.0e38";

export interface Variant {
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

export function forwardCode(v: Variant, t: AttentionTiling) {
  const D4 = v.D / 4, QR = t.qr, BC = t.bc;
  return () =>
    `${HEADER}
${
      bindings(
        ["in Q: vec4<f32>", "in K: vec4<f32>", "in V: vec4<f32>", "in M", "in R: u32", "out O: vec4<f32>", "out L"],
        "P",
      )
    }
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
export function deltaCode(D4: number, wg: number) {
  return () => `
struct P { n: u32 }
${bindings(["in O: vec4<f32>", "in G: vec4<f32>", "in L", "out S"], "P")}
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

/** The backward kernels' inputs, in binding order (the output follows, then the uniform). */
const BWD_INPUTS = [
  "in Q: vec4<f32>",
  "in K: vec4<f32>",
  "in V: vec4<f32>",
  "in M",
  "in R: u32",
  "in S",
  "in G: vec4<f32>",
];

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
export function dqCode(v: Variant, wg: number, rows: number) {
  const D4 = v.D / 4, QR = rows;
  return () =>
    `${HEADER}
${bindings([...BWD_INPUTS, "out DQ: vec4<f32>"], "P")}
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
export function dkvCode(v: Variant, wg: number, rows: number) {
  const D4 = v.D / 4, KR = rows;
  return () =>
    `${HEADER}
${bindings([...BWD_INPUTS, "out DKV: vec4<f32>"], "P")}
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
