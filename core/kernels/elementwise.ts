/**
 * Raw elementwise kernels (no tape): constant fills, copies, binary ops with NumPy broadcasting, unary ops, where,
 * dtype casts. Each validates, allocates its output on the inputs' device and runs that device's kernel.
 */
import { Tensor } from "../tensor.ts";
import type { Device, DType } from "../tensor.ts";
import { defaultDevice } from "../device.ts";
import { GpuFeatureMissingError, ShapeMismatchError } from "../errors.ts";
import { backendFor, kernelsOf } from "./backend.ts";
import { broadcastShapes, broadcastStrides, collapseAxes, MAX_RANK, sameShape } from "./shapes.ts";
import { type BinaryOpName, type BroadcastPlan, UNARY_NAMES, type UnaryName } from "./types.ts";

/** A tensor of `shape` filled with `value`, made on the device (no upload). */
export function full(shape: readonly number[], value: number, device: Device = defaultDevice()): Tensor {
  const out = Tensor.empty(shape, "f32", device);
  if (out.size > 0) backendFor(device).fill(out, value);
  return out;
}

/** A fresh copy of x's storage. */
export function cloneRaw(x: Tensor): Tensor {
  const { device, k } = kernelsOf("clone", x);
  const out = Tensor.empty(x.shape, x.dtype, device);
  const bytes = Math.ceil((x.size * (x.dtype === "f16" ? 2 : 4)) / 4) * 4;
  if (bytes > 0) k.copy(x, 0, out, 0, bytes);
  return out;
}

/** Broadcast strides of each operand shape against `shape`, with contiguous axes merged. */
export function broadcastPlan(op: string, shape: readonly number[], operands: readonly (readonly number[])[]) {
  const plan: BroadcastPlan = collapseAxes(shape, operands.map((s) => broadcastStrides(s, shape)));
  if (plan.shape.length > MAX_RANK) throw new ShapeMismatchError(op, `rank > ${MAX_RANK} after merging axes`);
  return plan;
}

/** `a op b` with NumPy broadcasting, no tape. */
export function binaryRaw(op: BinaryOpName, a: Tensor, b: Tensor): Tensor {
  const { device, k } = kernelsOf(op, a, b);
  const outShape = broadcastShapes(op, a.shape, b.shape);
  const out = Tensor.empty(outShape, "f32", device);
  if (out.size === 0) return out;
  k.binary(op, a, b, out, sameShape(a.shape, b.shape) ? null : broadcastPlan(op, outShape, [a.shape, b.shape]));
  return out;
}

/** A unary kernel of the table (core/kernels/types.ts UNARY_NAMES) with scalar `s`, no tape. */
export function unaryRaw(name: UnaryName, x: Tensor, s = 0): Tensor {
  if (!UNARY_NAMES.includes(name)) throw new Error(`unknown unary op ${name}`);
  const { device, k } = kernelsOf(name, x);
  const out = Tensor.empty(x.shape, "f32", device);
  if (out.size > 0) k.unary(name, x, out, s);
  return out;
}

function shapeOf(v: Tensor | number): readonly number[] {
  return typeof v === "number" ? [] : v.shape;
}

/** cond ≠ 0 ? a : b with broadcasting; a and b may be numbers. */
export function whereRaw(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  if (cond.dtype !== "f32") throw new ShapeMismatchError("where", `cond must be a 0/1 f32 tensor, got ${cond.dtype}`);
  const { device, k } = kernelsOf(
    "where",
    cond,
    typeof a === "number" ? null : a,
    typeof b === "number" ? null : b,
  );
  const outShape = broadcastShapes("where", broadcastShapes("where", cond.shape, shapeOf(a)), shapeOf(b));
  const out = Tensor.empty(outShape, "f32", device);
  if (out.size === 0) return out;
  k.where(cond, a, b, out, broadcastPlan("where", outShape, [cond.shape, shapeOf(a), shapeOf(b)]));
  return out;
}

const CASTS = new Set(["f32>f16", "f16>f32", "f32>i32", "i32>f32"]);

export function castRaw(x: Tensor, to: DType): Tensor {
  const pair = `${x.dtype}>${to}`;
  if (!CASTS.has(pair)) throw new ShapeMismatchError("cast", `no ${x.dtype} → ${to} cast (have ${[...CASTS]})`);
  const { device, k } = kernelsOf("cast", x);
  if ((x.dtype === "f16" || to === "f16") && !k.supportsF16()) {
    throw new GpuFeatureMissingError("shader-f16", `cast ${x.dtype} → ${to}`);
  }
  const out = Tensor.empty(x.shape, to, device);
  if (out.size > 0) k.cast(x, out);
  return out;
}
