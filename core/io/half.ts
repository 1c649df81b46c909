/**
 * 16-bit float storage formats ↔ f32, exactly as PyTorch converts them (round to nearest, ties to even):
 *   f16  (IEEE binary16):  1 sign, 5 exponent (bias 15), 10 mantissa bits; subnormals below 2^-14, max 65504
 *   bf16 (bfloat16):       1 sign, 8 exponent (bias 127), 7 mantissa bits: the top half of an f32
 * Used by the safetensors reader/writer (F16/BF16 checkpoints are how Hugging Face ships Qwen2.5-VL).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bf16 bits → f32: the bits are the f32's upper half, so this is exact. */
export function bf16ToF32(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const o = new Uint32Array(out.buffer, out.byteOffset, bits.length);
  for (let i = 0; i < bits.length; i++) o[i] = bits[i] << 16;
  return out;
}

/** f32 → bf16 bits, round to nearest even; NaN stays a (quiet) NaN. */
export function f32ToBf16(x: ArrayLike<number>, out = new Uint16Array(x.length)): Uint16Array {
  for (let i = 0; i < x.length; i++) {
    f32[0] = x[i];
    const b = u32[0];
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) out[i] = (b >>> 16) | 0x40;
    else out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** f16 values by bit pattern (65,536 entries), built once: every conversion is then one load. */
let f16Table: Float32Array | null = null;

function f16Value(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1024 + m) * 2 ** (e - 25);
}

/** f16 bits → f32 (exact: every f16 is an f32). */
export function f16ToF32(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16Value(h);
  }
  const t = f16Table;
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]];
  return out;
}

/** f32 → f16 bits, round to nearest even; overflow → ±Inf, underflow → subnormals then ±0. */
export function f32ToF16(x: ArrayLike<number>, out = new Uint16Array(x.length)): Uint16Array {
  for (let i = 0; i < x.length; i++) {
    f32[0] = x[i];
    const b = u32[0];
    const sign = (b >>> 16) & 0x8000;
    const exp = (b >>> 23) & 0xff;
    const mant = b & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15; // f16 biased exponent
    if (e >= 31) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      // Subnormal (or zero): shift the 24-bit significand right by 14 − e, rounding to nearest even.
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      const sig = mant | 0x800000;
      const shift = 14 - e;
      const q = sig >>> shift, rem = sig & ((1 << shift) - 1), halfway = 1 << (shift - 1);
      out[i] = sign | (q + (rem > halfway || (rem === halfway && (q & 1)) ? 1 : 0));
      continue;
    }
    // Normal: drop 13 mantissa bits with ties to even; a carry may bump the exponent (up to Inf), which is right.
    const q = (e << 10) | (mant >>> 13), rem = mant & 0x1fff;
    out[i] = sign | (q + (rem > 0x1000 || (rem === 0x1000 && (q & 1)) ? 1 : 0));
  }
  return out;
}
