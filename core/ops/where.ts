/**
 * where(cond, a, b) = cond ≠ 0 ? a : b elementwise, all three broadcast together (NumPy rules); a or b may be a
 * number. cond is a 0/1 f32 tensor and gets no gradient; a and b get the gradient where they were chosen (summed
 * over their broadcast axes). maskedFill(x, mask, value) = where(mask, value, x).
 */
import { Tensor } from "../tensor.ts";
import { ShapeMismatchError } from "../errors.ts";
import { record } from "../autograd.ts";
import { broadcastShapes, broadcastStrides, flatIndex, grid1d, launch, MAX_RANK } from "./kernel.ts";
import { sumToShape } from "./reduce.ts";

const WG = 256;

function code(aScalar: boolean, bScalar: boolean) {
  return () => `
struct P { n: u32, rank: u32, av: f32, bv: f32,
  shape: array<vec4<u32>, 2>, sc: array<vec4<u32>, 2>, sa: array<vec4<u32>, 2>, sb: array<vec4<u32>, 2> }
@group(0) @binding(0) var<storage, read> C: array<f32>;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  _ = A[0];
  _ = B[0];
  ${flatIndex(WG)}
  if (i >= p.n) { return; }
  var rem = i;
  var ic = 0u;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = p.shape[d / 4][d % 4];
    let c = rem % dim;
    rem = rem / dim;
    ic += c * p.sc[d / 4][d % 4];
    ia += c * p.sa[d / 4][d % 4];
    ib += c * p.sb[d / 4][d % 4];
  }
  let a = ${aScalar ? "p.av" : "A[ia]"};
  let b = ${bScalar ? "p.bv" : "B[ib]"};
  O[i] = select(b, a, C[ic] != 0.0);
}`;
}

function shapeOf(v: Tensor | number): readonly number[] {
  return typeof v === "number" ? [] : v.shape;
}

/** Forward only (no tape). */
export function whereRaw(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  if (cond.dtype !== "f32") throw new ShapeMismatchError("where", `cond must be a 0/1 f32 tensor, got ${cond.dtype}`);
  const outShape = broadcastShapes("where", broadcastShapes("where", cond.shape, shapeOf(a)), shapeOf(b));
  const out = Tensor.empty(outShape);
  if (out.size === 0) return out;
  if (outShape.length > MAX_RANK) throw new Error(`where: rank > ${MAX_RANK} not supported`);
  const u = new Uint32Array(4 + 8 * 4);
  const f = new Float32Array(u.buffer);
  u[0] = out.size;
  u[1] = outShape.length;
  f[2] = typeof a === "number" ? a : 0;
  f[3] = typeof b === "number" ? b : 0;
  const tables = [outShape, broadcastStrides(cond.shape, outShape), broadcastStrides(shapeOf(a), outShape)];
  tables.push(broadcastStrides(shapeOf(b), outShape));
  tables.forEach((t, k) => t.forEach((v, i) => (u[4 + k * MAX_RANK + i] = v)));
  const aS = typeof a === "number", bS = typeof b === "number";
  const bufs = [cond, aS ? cond : a as Tensor, bS ? cond : b as Tensor, out];
  launch(`where_${+aS}${+bS}`, code(aS, bS), bufs, u.buffer, grid1d(out.size, WG));
  return out;
}

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
