/**
 * dtype casts: f32 ↔ f16 (needs the adapter's `shader-f16`; otherwise GpuFeatureMissingError, checked before any
 * GPU work), and f32 ↔ i32 (truncation toward zero, like WGSL's i32(f32) and torch's .long()). Casting to the same
 * dtype returns a copy. f32 ↔ f16 casts carry gradients (cast back); integer casts have none.
 *
 * Host-side conversions live in core/tensor.ts (`toF16Bits`, `fromF16Bits`); `castReference` rounds through them.
 */
import { fromF16Bits, type Tensor, toF16Bits } from "../tensor.ts";
import type { DType } from "../tensor.ts";
import { record } from "../tape.ts";
import { castRaw } from "../kernels/elementwise.ts";
import { contiguous } from "./shape.ts";

/** x converted to `dtype` (a new tensor). */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return contiguous(x);
  const out = castRaw(x, dtype);
  if (dtype === "f16" || x.dtype === "f16") {
    // fwd: y = round(x) in the other float type  →  dx = g cast back (rounding is treated as identity)
    return record(out, "cast", [x], (g) => [castRaw(g, x.dtype)]);
  }
  return out;
}

/** f16 storage of an f32 tensor (throws GpuFeatureMissingError without shader-f16). */
export const toF16 = (x: Tensor): Tensor => cast(x, "f16");
/** f32 copy of an f16 / i32 tensor. */
export const toF32 = (x: Tensor): Tensor => cast(x, "f32");

/** f64 reference: the values a cast to `to` produces, as numbers. */
export function castReference(x: Float64Array, to: DType): Float64Array {
  if (to === "f16") return Float64Array.from(fromF16Bits(toF16Bits(x)));
  if (to === "i32" || to === "u32") return x.map((v) => Math.trunc(v));
  return Float64Array.from(Float32Array.from(x));
}
