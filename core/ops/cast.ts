/**
 * dtype casts: f32 ↔ f16 (needs the adapter's `shader-f16`; otherwise GpuFeatureMissingError, checked before any
 * GPU work), and f32 ↔ i32 (truncation toward zero, like WGSL's i32(f32) and torch's .long()). Casting to the same
 * dtype returns a copy. f32 ↔ f16 casts carry gradients (cast back); integer casts have none.
 *
 * Host-side conversions live in core/tensor.ts (`toF16Bits`, `fromF16Bits`); `castReference` rounds through them.
 */
import { fromF16Bits, Tensor, toF16Bits } from "../tensor.ts";
import type { DType } from "../tensor.ts";
import { record } from "../autograd.ts";
import { GpuFeatureMissingError, ShapeMismatchError } from "../errors.ts";
import { GpuContext } from "../gpu/context.ts";
import { flatIndex, grid1d, launch, packParams } from "./kernel.ts";
import { contiguous } from "./shape.ts";

const WG = 256;

const WGSL_TYPE: Record<DType, string> = { f32: "f32", f16: "f16", i32: "i32", u32: "u32" };

function code(from: DType, to: DType) {
  const f16 = from === "f16" || to === "f16";
  return () =>
    `${f16 ? "enable f16;" : ""}
struct P { n: u32 }
@group(0) @binding(0) var<storage, read> X: array<${WGSL_TYPE[from]}>;
@group(0) @binding(1) var<storage, read_write> O: array<${WGSL_TYPE[to]}>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${flatIndex(WG)}
  if (i >= p.n) { return; }
  O[i] = ${WGSL_TYPE[to]}(X[i]);
}`;
}

const SUPPORTED = new Set(["f32>f16", "f16>f32", "f32>i32", "i32>f32"]);

function castRaw(x: Tensor, to: DType): Tensor {
  const pair = `${x.dtype}>${to}`;
  if (!SUPPORTED.has(pair)) throw new ShapeMismatchError("cast", `no ${x.dtype} → ${to} cast (have ${[...SUPPORTED]})`);
  if ((x.dtype === "f16" || to === "f16") && !GpuContext.current().hasF16) {
    throw new GpuFeatureMissingError("shader-f16", `cast ${x.dtype} → ${to}`);
  }
  const out = Tensor.empty(x.shape, to);
  if (out.size > 0) {
    launch(`cast_${x.dtype}_${to}`, code(x.dtype, to), [x, out], packParams([["u32", x.size]]), grid1d(x.size, WG));
  }
  return out;
}

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
