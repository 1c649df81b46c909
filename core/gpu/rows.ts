/**
 * Helpers for the row-wise WGSL kernels (softmax, norms, cross-entropy, argmax): one workgroup per row of the last
 * axis, threads stride over the row and combine partial results with a tree reduction in workgroup memory.
 */
import { GpuContext } from "./context.ts";

/**
 * Workgroup size for a row of `len` elements; always a power of two ≥ 2. A tuning parameter per adapter class:
 * on a CPU adapter (llvmpipe) each workgroup barrier switches every SIMD batch of invocations, so few invocations
 * per row win by far (256×4096 softmax: 4 → ~100 ms, 256 → ~170 ms; 16384×64: 4 → ~115 ms, 32 → ~430 ms, 2 cores
 * under load); a real GPU wants warp-sized and larger groups.
 */
export function rowWorkgroupSize(len: number): number {
  if (override !== null) return override;
  if (isCpuAdapter()) return Math.max(4, Math.min(256, nextPow2(Math.ceil(len / CPU_ROW_ITERS))));
  if (len >= 1024) return 256;
  if (len >= 128) return 64;
  return 32;
}

/**
 * Strided iterations per invocation a row kernel may take on a CPU adapter. Mesa's llvmpipe silently stops a loop
 * after 65535 iterations per invocation (measured; a kernel's nested loops hit it sooner), so long rows at 4
 * invocations each were read only in part. Row kernels run up to ~3 passes over the row (plus small index loops), so
 * 2048 iterations per pass stays far below the limit for rows of up to 256 × 2048 = 512k elements.
 */
export const CPU_ROW_ITERS = 2048;

function nextPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}

let override: number | null = null;

/** Force the row workgroup size (tuning, and tests of the GPU-class sizes on a CPU adapter); null = default. */
export function setRowWorkgroupSize(wg: number | null): void {
  if (wg !== null && !(wg >= 2 && Number.isInteger(Math.log2(wg)))) {
    throw new RangeError(`row workgroup size must be a power of two ≥ 2, got ${wg}`);
  }
  override = wg;
}

let cpuAdapter: boolean | null = null;
function isCpuAdapter(): boolean {
  if (cpuAdapter === null) {
    const ctx = GpuContext.current();
    const info = ctx.adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    cpuAdapter = !!info.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader|software/i.test(ctx.description);
  }
  return cpuAdapter;
}

/** Workgroup grid with one workgroup per row; spills into y past the 65535 per-dimension limit. */
export function rowGrid(rows: number): [number, number] {
  const n = Math.max(1, rows);
  if (n <= 65535) return [n, 1];
  const y = Math.ceil(n / 65535);
  return [Math.ceil(n / y), y];
}

/** Entry-point arguments and the `row` index for rowGrid dispatches. */
export const ROW_ARGS =
  "@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>";
export const ROW_INDEX = "let row = wid.x + wid.y * nwg.x;";

/**
 * The opening of a rowGrid kernel's entry point: workgroup `row` handles one row with invocations `lid`, and
 * workgroups at or past `rows` return at once (uniformly, so the body may use the workgroup reductions). The kernel's
 * body and closing brace follow it.
 */
export function rowMain(wg: number, rows = "p.rows"): string {
  return `@compute @workgroup_size(${wg})
fn main(${ROW_ARGS}) {
  ${ROW_INDEX}
  if (row >= ${rows}) { return; }`;
}

/**
 * WGSL for workgroup reductions over `wg` invocations: `reduceSum(lid, v)` and `reduceMax(lid, v)` return the
 * combined value to every invocation. Call from uniform control flow only (they contain barriers).
 */
export function reduceWgsl(wg: number): string {
  const body = (name: string, comb: string) => `
fn ${name}(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { let a = red[lid]; let b = red[lid + s]; red[lid] = ${comb}; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;
  return `var<workgroup> red: array<f32, ${wg}>;` + body("reduceSum", "a + b") + body("reduceMax", "max(a, b)");
}
