/**
 * Helpers for writing the WASM kernels as WAT text from TypeScript (the way core/gpu writes WGSL): a kernel
 * header that loads its parameter words into locals, counted loops, and the FMA of the feature set.
 *
 * Kernel ABI (core/wasm/runtime.ts): `(param $p i32) (param $t0 i32) (param $t1 i32)`; parameter word i is at
 * $p + 4i. `params` entries are `"name"` (i32) or `"name:f32"`; `locals` entries `"name:type"` (default i32).
 */
import type { WasmFeatures } from "./runtime.ts";

export function kernel(name: string, params: string[], locals: string[], body: string): string {
  const decl = (s: string) => {
    const [n, t] = s.split(":");
    return { n, t: t ?? "i32" };
  };
  const ps = params.map(decl);
  const ls = locals.map(decl);
  const seen = new Set<string>(["p", "t0", "t1"]);
  for (const v of [...ps, ...ls]) {
    if (seen.has(v.n)) throw new Error(`kernel ${name}: local $${v.n} declared twice`);
    seen.add(v.n);
  }
  return `
(func $${name} (export "${name}") (param $p i32) (param $t0 i32) (param $t1 i32)
  ${[...ps, ...ls].map((v) => `(local $${v.n} ${v.t})`).join(" ")}
  ${ps.map((v, i) => `(local.set $${v.n} (${v.t}.load offset=${4 * i} (local.get $p)))`).join("\n  ")}
  ${body})`;
}

/** for (v = from; v < to; v += step) body — signed compare (sizes stay below 2^31). */
export function loop(v: string, from: string, to: string, body: string, step: string | number = 1): string {
  const inc = typeof step === "number" ? `(i32.const ${step})` : step;
  return `(local.set $${v} ${from})
  (block $B_${v} (loop $L_${v}
    (br_if $B_${v} (i32.ge_s (local.get $${v}) ${to}))
    ${body}
    (local.set $${v} (i32.add (local.get $${v}) ${inc}))
    (br $L_${v})))`;
}

export const get = (v: string) => `(local.get $${v})`;
export const set = (v: string, e: string) => `(local.set $${v} ${e})`;
export const i32 = (n: number) => `(i32.const ${n | 0})`;
export const f32 = (x: number) => `(f32.const ${Number.isFinite(x) ? x : x > 0 ? "inf" : x < 0 ? "-inf" : "nan"})`;
export const splat = (x: number) => `(f32x4.splat ${f32(x)})`;
/** byte address base + 4·i */
export const at = (base: string, i: string) => `(i32.add ${base} (i32.shl ${i} (i32.const 2)))`;
export const min = (a: string, b: string) => `(select ${a} ${b} (i32.lt_s ${a} ${b}))`;

/** a·b + c on f32x4: fused relaxed_madd where the engine has it, else mul + add. */
export function fma(f: WasmFeatures): (a: string, b: string, c: string) => string {
  return f.relaxedSimd
    ? (a, b, c) => `(f32x4.relaxed_madd ${a} ${b} ${c})`
    : (a, b, c) => `(f32x4.add (f32x4.mul ${a} ${b}) ${c})`;
}

/** Horizontal sum of a v128 expression (into f32). */
export function hsum(v: string, tmp: string): string {
  return `(local.set $${tmp} ${v})
    (f32.add (f32.add (f32x4.extract_lane 0 (local.get $${tmp})) (f32x4.extract_lane 1 (local.get $${tmp})))
             (f32.add (f32x4.extract_lane 2 (local.get $${tmp})) (f32x4.extract_lane 3 (local.get $${tmp}))))`;
}

/** Horizontal max of a v128 expression (into f32). */
export function hmax(v: string, tmp: string): string {
  return `(local.set $${tmp} ${v})
    (f32.max (f32.max (f32x4.extract_lane 0 (local.get $${tmp})) (f32x4.extract_lane 1 (local.get $${tmp})))
             (f32.max (f32x4.extract_lane 2 (local.get $${tmp})) (f32x4.extract_lane 3 (local.get $${tmp}))))`;
}
