/** Launch helpers for the WGSL kernels: uniform packing, dispatch grids, the cached-pipeline dispatch. */
import { GpuContext } from "./context.ts";
import type { Tensor } from "../tensor.ts";

export type ParamType = "u32" | "i32" | "f32";

/** Pack scalars into a uniform block; the WGSL struct must list the same fields in the same order. */
export function packParams(values: [ParamType, number][]): ArrayBuffer {
  const buf = new ArrayBuffer(Math.max(16, Math.ceil(values.length / 4) * 16));
  const dv = new DataView(buf);
  values.forEach(([t, v], i) => {
    if (t === "u32") dv.setUint32(i * 4, v >>> 0, true);
    else if (t === "i32") dv.setInt32(i * 4, v | 0, true);
    else dv.setFloat32(i * 4, v, true);
  });
  return buf;
}

/** Record one dispatch of a cached pipeline. Buffers bind in order, then the uniform (if any). */
export function launch(
  key: string,
  code: () => string,
  tensors: (Tensor | GPUBuffer)[],
  params: ArrayBuffer | null,
  workgroups: [number, number?, number?],
): void {
  const ctx = GpuContext.current();
  const pipeline = ctx.pipeline(key, code);
  const buffers = tensors.map((t) => ("storage" in t ? t.buffer : t));
  ctx.dispatch(pipeline, buffers, params, workgroups);
}

/** Workgroup counts covering n invocations of `wg` threads; spills into y past the 65535 per-dimension limit. */
export function grid1d(n: number, wg = 256): [number, number] {
  const groups = Math.max(1, Math.ceil(n / wg));
  if (groups <= 65535) return [groups, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}

/** WGSL line computing the flat invocation index for grid1d dispatches. */
export function flatIndex(wg: number): string {
  return `let i = gid.x + gid.y * nwg.x * ${wg}u;`;
}

/** Entry-point arguments of a grid1d kernel. */
export const FLAT_ARGS = "@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>";

/**
 * The opening of a grid1d kernel's entry point: `i` is the flat invocation index and invocations at or past `count`
 * return at once. The kernel's body and closing brace follow it.
 */
export function flatMain(wg: number, count = "p.n"): string {
  return `@compute @workgroup_size(${wg})
fn main(${FLAT_ARGS}) {
  ${flatIndex(wg)}
  if (i >= ${count}) { return; }`;
}
