/**
 * where(cond, a, b) = cond ≠ 0 ? a : b elementwise, all three broadcast together (NumPy rules); a or b may be a
 * number. cond is a 0/1 f32 tensor and gets no gradient; a and b get the gradient where they were chosen (summed
 * over their broadcast axes). maskedFill(x, mask, value) = where(mask, value, x).
 */
import type { Tensor } from "../tensor.ts";
import { record } from "../tape.ts";
import { whereRaw } from "../kernels/elementwise.ts";
import { sumToShape } from "../kernels/reduce.ts";
import { broadcastShapes, broadcastStrides } from "../kernels/shapes.ts";

export { whereRaw };

/** cond ≠ 0 ? a : b with broadcasting; a and b may be numbers. */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const out = whereRaw(cond, a, b);
  const inputs = [a, b].filter((t): t is Tensor => typeof t !== "number");
  return record(out, "where", inputs, (g) => {
    // fwd: y = c ? a : b  →  da = c ? g : 0,  db = c ? 0 : g  (each summed to its input's shape)
    const grads: (Tensor | null)[] = [];
    if (typeof a !== "number") grads.push(a.requiresGrad ? sumToShape(whereRaw(cond, g, 0), a.shape) : null);
    if (typeof b !== "number") grads.push(b.requiresGrad ? sumToShape(whereRaw(cond, 0, g), b.shape) : null);
    return grads;
  });
}

/** x with `value` where mask ≠ 0 (mask broadcast against x). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  return where(mask, value, x);
}

/** f64 reference; numbers stand for scalars. */
export function whereReference(
  cond: Float64Array,
  condShape: readonly number[],
  a: Float64Array | number,
  aShape: readonly number[],
  b: Float64Array | number,
  bShape: readonly number[],
): Float64Array {
  const shape = broadcastShapes("where", broadcastShapes("where", condShape, aShape), bShape);
  const [sc, sa, sb] = [condShape, aShape, bShape].map((s) => broadcastStrides(s, shape));
  const n = shape.reduce((x, y) => x * y, 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let rem = i, ic = 0, ia = 0, ib = 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      const c = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      ic += c * sc[d];
      ia += c * sa[d];
      ib += c * sb[d];
    }
    out[i] = cond[ic] !== 0 ? (typeof a === "number" ? a : a[ia]) : (typeof b === "number" ? b : b[ib]);
  }
  return out;
}
