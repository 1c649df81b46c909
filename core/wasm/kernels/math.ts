/**
 * Vector math for the WASM kernels (WAT functions on f32x4): exp and log after Cephes' expf/logf (range reduction
 * + minimax polynomial, ~1 ulp on normal inputs), and tanh, sigmoid and the A&S 7.1.26 erf the WGSL kernels use,
 * built on them. Float-to-int conversion uses the magic-number trick (n + 1.5·2²³ has n in its low mantissa bits):
 * V8 lowers i32x4.trunc_sat_f32x4_s to a slow sequence. Clamps use pmin/pmax (f32x4.min/max are slow in V8).
 * The scalar forms ($exp1, $log1) run the vector code on a splat.
 */
import type { WasmFeatures } from "../runtime.ts";
import { fma, splat } from "../wat.ts";

export function mathWat(f: WasmFeatures): string {
  const madd = fma(f);
  // Horner: c0 + x·(c1 + x·(…)), coefficients highest first
  const horner = (x: string, cs: number[]) => cs.slice(1).reduce((acc, c) => madd(acc, x, splat(c)), splat(cs[0]));
  return `
(func $exp4 (param $x v128) (result v128) (local $n v128) (local $r v128) (local $y v128)
  ;; x clamped to the f32 range of exp; n = round(x / ln 2); r = x − n·ln 2 in two parts (Cody–Waite)
  (local.set $x (f32x4.pmin (f32x4.pmax (local.get $x) ${splat(-87.33654)}) ${splat(88.72283)}))
  (local.set $n (f32x4.nearest (f32x4.mul (local.get $x) ${splat(1.4426950408889634)})))
  (local.set $r (f32x4.sub (local.get $x) (f32x4.mul (local.get $n) ${splat(0.693359375)})))
  (local.set $r (f32x4.add (local.get $r) (f32x4.mul (local.get $n) ${splat(2.12194440e-4)})))
  ;; e^r ≈ 1 + r + r²·P(r)
  (local.set $y ${
    horner("(local.get $r)", [
      1.9875691500e-4,
      1.3981999507e-3,
      8.3334519073e-3,
      4.1665795894e-2,
      1.6666665459e-1,
      5.0000001201e-1,
    ])
  })
  (local.set $y (f32x4.add (f32x4.add (f32x4.mul (local.get $y) (f32x4.mul (local.get $r) (local.get $r)))
    (local.get $r)) ${splat(1)}))
  ;; 2^n: the magic number puts n in the mantissa's low bits; shift (n + 127) into the exponent field
  (f32x4.mul (local.get $y)
    (i32x4.shl (i32x4.add (f32x4.add (local.get $n) ${splat(12582912)}) (i32x4.splat (i32.const ${127 - 0x4B400000})))
      (i32.const 23))))
(func $log4 (param $x v128) (result v128) (local $e v128) (local $m v128) (local $z v128) (local $y v128)
  (local $small v128)
  ;; x = m · 2^e with m in [0.5, 1); if m < √½ use 2m − 1 and e − 1, else m − 1 (so |m| < 0.29)
  (local.set $e (f32x4.convert_i32x4_s (i32x4.sub (i32x4.shr_u (local.get $x) (i32.const 23)) (i32x4.splat (i32.const 126)))))
  (local.set $m (v128.or (v128.and (local.get $x) (i32x4.splat (i32.const 0x807fffff))) (i32x4.splat (i32.const 0x3f000000))))
  (local.set $small (f32x4.lt (local.get $m) ${splat(0.707106781186547524)}))
  (local.set $e (f32x4.sub (local.get $e) (v128.and (local.get $small) ${splat(1)})))
  (local.set $m (f32x4.sub (f32x4.add (local.get $m) (v128.and (local.get $small) (local.get $m))) ${splat(1)}))
  (local.set $z (f32x4.mul (local.get $m) (local.get $m)))
  (local.set $y ${
    horner("(local.get $m)", [
      7.0376836292e-2,
      -1.1514610310e-1,
      1.1676998740e-1,
      -1.2420140846e-1,
      1.4249322787e-1,
      -1.6668057665e-1,
      2.0000714765e-1,
      -2.4999993993e-1,
      3.3333331174e-1,
    ])
  })
  (local.set $y (f32x4.mul (f32x4.mul (local.get $y) (local.get $m)) (local.get $z)))
  (local.set $y ${madd("(local.get $e)", splat(-2.12194440e-4), "(local.get $y)")})
  (local.set $y ${madd("(local.get $z)", splat(-0.5), "(local.get $y)")})
  (local.set $y (f32x4.add (f32x4.add (local.get $m) (local.get $y)) (f32x4.mul (local.get $e) ${splat(0.693359375)})))
  ;; log 0 = −∞, log(x < 0) = NaN, log ∞ = ∞
  (local.set $y (v128.bitselect ${splat(-Infinity)} (local.get $y) (f32x4.eq (local.get $x) ${splat(0)})))
  (local.set $y (v128.bitselect ${splat(NaN)} (local.get $y) (f32x4.lt (local.get $x) ${splat(0)})))
  (v128.bitselect (local.get $x) (local.get $y) (f32x4.eq (local.get $x) ${splat(Infinity)})))
(func $tanh4 (param $x v128) (result v128) (local $e v128)
  ;; tanh x = sign(x) · (1 − 2 / (e^{2|x|} + 1)), |x| clamped at 15 as in the WGSL tanh_safe
  (local.set $e (call $exp4 (f32x4.mul (f32x4.pmin (f32x4.abs (local.get $x)) ${splat(15)}) ${splat(2)})))
  (v128.or (v128.and (local.get $x) (i32x4.splat (i32.const 0x80000000)))
    (f32x4.sub ${splat(1)} (f32x4.div ${splat(2)} (f32x4.add (local.get $e) ${splat(1)})))))
(func $sigmoid4 (param $x v128) (result v128)
  (f32x4.div ${splat(1)} (f32x4.add ${splat(1)} (call $exp4 (f32x4.neg (local.get $x))))))
(func $erf4 (param $x v128) (result v128) (local $ax v128) (local $t v128) (local $y v128)
  ;; Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), as the WGSL erf_approx
  (local.set $ax (f32x4.abs (local.get $x)))
  (local.set $t (f32x4.div ${splat(1)} ${madd(splat(0.3275911), "(local.get $ax)", splat(1))}))
  (local.set $y (f32x4.mul ${
    horner("(local.get $t)", [1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592])
  } (local.get $t)))
  (local.set $y (f32x4.sub ${splat(1)} (f32x4.mul (local.get $y)
    (call $exp4 (f32x4.neg (f32x4.mul (local.get $ax) (local.get $ax)))))))
  (v128.or (v128.and (local.get $x) (i32x4.splat (i32.const 0x80000000))) (local.get $y)))
(func $exp1 (param $x f32) (result f32) (f32x4.extract_lane 0 (call $exp4 (f32x4.splat (local.get $x)))))
(func $log1 (param $x f32) (result f32) (f32x4.extract_lane 0 (call $log4 (f32x4.splat (local.get $x)))))
`;
}
