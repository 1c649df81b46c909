/**
 * f16 storage → f32 compute for the WASM kernels that read frozen f16 weights (GEMM packing, indexSelect): WAT
 * functions widening IEEE binary16 bit patterns exactly (normals, subnormals, ±0, ±Inf, NaN). WebAssembly SIMD has
 * no half-float lanes, so the widening is integer code plus one multiply:
 *   bits(x) = (h & 0x7fff) << 13 places the 5-bit exponent and 10-bit mantissa in an f32's fields with exponent bias
 *   127 instead of 15, so as an f32 it is x · 2^-112 (subnormals included: their f32 form is denormal and exact);
 *   multiplying by 2^112 rescales it exactly. Exponent 31 (Inf/NaN) gets the f32 all-ones exponent OR-ed in (the
 *   mantissa, hence NaN-ness, is kept); the sign bit moves from bit 15 to bit 31.
 */
import { at, get } from "../wat.ts";

/** 2^112 as an f32 literal. */
const TWO_112 = "5.192296858534828e+33";

export function halfWat(): string {
  return `
(func $h2f (param $h i32) (result f32) (local $m i32)
  (local.set $m (i32.and (local.get $h) (i32.const 0x7fff)))
  (f32.reinterpret_i32 (i32.or
    (i32.or
      (i32.reinterpret_f32 (f32.mul (f32.reinterpret_i32 (i32.shl (local.get $m) (i32.const 13))) (f32.const ${TWO_112})))
      (select (i32.const 0x7f800000) (i32.const 0) (i32.gt_u (local.get $m) (i32.const 0x7bff))))
    (i32.shl (i32.and (local.get $h) (i32.const 0x8000)) (i32.const 16)))))
(func $h2f4 (param $h v128) (result v128) (local $m v128)
  ;; $h: four zero-extended f16 bit patterns (i32x4) → four f32
  (local.set $m (v128.and (local.get $h) (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff)))
  (v128.or
    (v128.or
      (f32x4.mul (i32x4.shl (local.get $m) (i32.const 13)) (f32x4.splat (f32.const ${TWO_112})))
      (v128.and (i32x4.gt_s (local.get $m) (v128.const i32x4 0x7bff 0x7bff 0x7bff 0x7bff))
        (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000)))
    (i32x4.shl (v128.and (local.get $h) (v128.const i32x4 0x8000 0x8000 0x8000 0x8000)) (i32.const 16))))`;
}

/** byte address base + 2·i (element i of an f16 tensor) */
export const at2 = (base: string, i: string) => `(i32.add ${base} (i32.shl ${i} (i32.const 1)))`;

/** The f32 value of element `i` of a tensor at `base`, stored f32 or (f16 true) f16. */
export function loadElem(base: string, i: string, f16: boolean): string {
  return f16 ? `(call $h2f (i32.load16_u ${at2(base, i)}))` : `(f32.load ${at(base, i)})`;
}

/** Eight f16 values at byte address `addr` → two f32x4 (low four, high four), as `[low, high]` expressions. */
export function load8Half(addr: string, tmp: string): [string, string] {
  return [
    `(call $h2f4 (i32x4.extend_low_i16x8_u (local.tee $${tmp} (v128.load ${addr}))))`,
    `(call $h2f4 (i32x4.extend_high_i16x8_u ${get(tmp)}))`,
  ];
}
