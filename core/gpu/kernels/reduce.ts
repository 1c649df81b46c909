/**
 * WGSL reductions over any set of axes: sum and max. Workgroups stride over the reduced elements and tree-reduce in
 * workgroup memory, so both "many short rows" and "one long row" work. A long reduction is split into chunks of at
 * most REDUCE_CHUNK_ITERS strided iterations per invocation, one workgroup per (output, chunk), and the chunk partials
 * are reduced again (same kernel): it spreads one long reduction over many workgroups on a real GPU, and on Mesa's
 * llvmpipe it is needed for correctness: llvmpipe silently stops a loop after 65535 iterations per invocation
 * (measured; with this kernel's nested index loop, sums over ~40k+ elements at 4 invocations came out truncated).
 */
import { bindings, stridedOffsetWgsl } from "../wgsl.ts";
import { launch } from "../launch.ts";
import { rowWorkgroupSize } from "../rows.ts";
import { MAX_RANK } from "../../kernels/shapes.ts";
import type { ReduceKind, ReducePlan } from "../../kernels/types.ts";
import { Tensor } from "../../tensor.ts";

/** Strided loop iterations per invocation per pass (× the reduced rank's index loop: far below llvmpipe's 65535). */
export const REDUCE_CHUNK_ITERS = 1024;

function code(kind: ReduceKind, WG: number) {
  const init = kind === "sum" ? "0.0" : "-3.402823e38";
  const comb = kind === "sum" ? "a + b" : "max(a, b)";
  return () => `
struct P { nOut: u32, nRed: u32, keptRank: u32, redRank: u32,
  keptShape: array<vec4<u32>, 2>, keptStride: array<vec4<u32>, 2>,
  redShape: array<vec4<u32>, 2>, redStride: array<vec4<u32>, 2>, chunk: vec4<u32> }
${bindings(["in X", "out O"], "P")}
var<workgroup> buf: array<f32, ${WG}>;
fn comb(a: f32, b: f32) -> f32 { return ${comb}; }
${stridedOffsetWgsl("keptOffset", "p.keptRank", "p.keptShape", "p.keptStride")}
${stridedOffsetWgsl("redOffset", "p.redRank", "p.redShape", "p.redStride")}
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
  let base = keptOffset(o);
  var acc = ${init};
  for (var r = r0 + lid; r < r1; r += ${WG}u) {
    acc = comb(acc, X[base + redOffset(r)]);
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

export function reduce(kind: ReduceKind, x: Tensor, out: Tensor, plan: ReducePlan): void {
  if (plan.keptShape.length > MAX_RANK || plan.redShape.length > MAX_RANK) {
    throw new Error(`reduce: rank > ${MAX_RANK}`);
  }
  // Workgroup size per adapter class (see rows.ts): few invocations per output on a CPU adapter.
  const wg = rowWorkgroupSize(plan.nRed);
  const chunk = wg * REDUCE_CHUNK_ITERS;
  const nChunks = Math.ceil(plan.nRed / chunk);
  const u = new Uint32Array(4 + 4 * MAX_RANK + 4);
  u.set([plan.nOut, plan.nRed, plan.keptShape.length, plan.redShape.length]);
  [plan.keptShape, plan.keptStrides, plan.redShape, plan.redStrides].forEach((t, k) =>
    t.forEach((v, i) => (u[4 + k * MAX_RANK + i] = v))
  );
  u[4 + 4 * MAX_RANK] = chunk;
  u[4 + 4 * MAX_RANK + 1] = nChunks;
  // One pass writes out directly; a chunked one writes partials (nOut, nChunks), output-major, reduced again.
  const target = nChunks === 1 ? out : Tensor.empty([plan.nOut, nChunks], "f32", "webgpu");
  const groups = plan.nOut * nChunks;
  const y = Math.ceil(groups / 65535);
  launch(`reduce_${kind}_${wg}`, code(kind, wg), [x, target], u.buffer, [Math.ceil(groups / y), y]);
  if (nChunks === 1) return;
  reduce(kind, target, out, {
    nOut: plan.nOut,
    nRed: nChunks,
    keptShape: [plan.nOut],
    keptStrides: [nChunks],
    redShape: [nChunks],
    redStrides: [1],
  });
  target.dispose();
}
