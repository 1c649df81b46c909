/** Shared launch helpers for op files: parameter packing, dispatch grids, shape arithmetic. */
import { GpuContext } from "../gpu/context.ts";
import { ShapeMismatchError } from "../errors.ts";
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

/** Pack a list of u32 into vec4-aligned uniform storage (for shape/stride tables). */
export function packU32(values: number[], minLength = 0): ArrayBuffer {
  const n = Math.max(values.length, minLength);
  const buf = new Uint32Array(Math.max(4, Math.ceil(n / 4) * 4));
  values.forEach((v, i) => (buf[i] = v >>> 0));
  return buf.buffer;
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

export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** NumPy broadcasting of two shapes. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeMismatchError(op, `cannot broadcast [${a}] with [${b}]`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of `shape` viewed as `outShape` under broadcasting (0 on broadcast axes). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const s = contiguousStrides(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_d, i) => (i < off || shape[i - off] === 1 ? 0 : s[i - off]));
}

/** Normalise (possibly negative) axes. */
export function normAxes(op: string, axes: number | number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = Array.isArray(axes) ? axes : [axes];
  const out = list.map((a) => (a < 0 ? a + rank : a));
  for (const a of out) if (a < 0 || a >= rank) throw new ShapeMismatchError(op, `axis out of range for rank ${rank}`);
  return [...new Set(out)].sort((x, y) => x - y);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export const MAX_RANK = 8;
