/** Shape arithmetic shared by the raw kernels of both devices: strides, broadcasting, axes, rows. */
import { ShapeMismatchError } from "../errors.ts";

/** Kernels index tensors of at most this rank. */
export const MAX_RANK = 8;

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

/** Rows × length of the last axis. */
export function lastAxisRows(op: string, x: { rank: number; shape: readonly number[]; size: number }): {
  rows: number;
  len: number;
} {
  if (x.rank < 1) throw new ShapeMismatchError(op, "expected at least a 1-D tensor");
  const len = x.shape[x.rank - 1];
  return { rows: len === 0 ? 0 : x.size / len, len };
}

/**
 * Merge neighbouring axes that every operand walks contiguously (stride[i] = stride[i+1]·shape[i+1] for all, or 0
 * on both for all), and drop size-1 axes: the same element order with the fewest axes, so kernels get long inner
 * runs. `strides` holds one stride list per operand (same length as shape).
 */
export function collapseAxes(shape: readonly number[], strides: readonly (readonly number[])[]): {
  shape: number[];
  strides: number[][];
} {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[d] * shape[d])) {
      outShape[last] *= shape[d];
      strides.forEach((s, k) => (outStrides[k][last] = s[d]));
    } else {
      outShape.push(shape[d]);
      strides.forEach((s, k) => outStrides[k].push(s[d]));
    }
  }
  return { shape: outShape, strides: outStrides };
}
