/**
 * f64 building blocks of the reference forward (plain loops, no GPU): linear, RMSNorm, activations, rotate-half
 * rotary, segmented / causal grouped-query attention. Row-major; letters: N rows, I in, O out, H heads, D head dim.
 */
import { ShapeMismatchError } from "../../errors.ts";

/** y = x W^T + b; x (N, I), W (O, I) as stored by HF, b (O). Returns (N, O). */
export function linear(x: Float64Array, n: number, w: Float32Array, out: number, b?: Float32Array): Float64Array {
  const inp = x.length / n;
  if (w.length !== out * inp) {
    throw new ShapeMismatchError("linear", `weight has ${w.length} values, want ${out}x${inp}`);
  }
  const y = new Float64Array(n * out);
  for (let r = 0; r < n; r++) {
    const xo = r * inp;
    for (let o = 0; o < out; o++) {
      let s = b ? b[o] : 0;
      const wo = o * inp;
      for (let i = 0; i < inp; i++) s += x[xo + i] * w[wo + i];
      y[r * out + o] = s;
    }
  }
  return y;
}

/** RMSNorm over the last dim: x / sqrt(mean(x²) + eps) * g. x (N, C). */
export function rmsNorm(x: Float64Array, g: Float32Array, eps: number): Float64Array {
  const C = g.length, n = x.length / C;
  const y = new Float64Array(x.length);
  for (let r = 0; r < n; r++) {
    let ss = 0;
    for (let i = 0; i < C; i++) ss += x[r * C + i] ** 2;
    const inv = 1 / Math.sqrt(ss / C + eps);
    for (let i = 0; i < C; i++) y[r * C + i] = x[r * C + i] * inv * g[i];
  }
  return y;
}

export const silu = (v: number) => v / (1 + Math.exp(-v));

/** Exact GELU 0.5·x·(1 + erf(x/√2)) (torch nn.GELU() default). */
export function gelu(v: number): number {
  return 0.5 * v * (1 + erf(v / Math.SQRT2));
}

/** erf to ~1e-16 via its Taylor series (|x| < 3) and the continued fraction tail otherwise. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = ax, sum = ax;
    for (let k = 1; k < 200; k++) {
      term *= (-ax * ax) / k;
      const add = term / (2 * k + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x²)/(x√π) · 1/(1+ 1/(2x²)/(1+ 2/(2x²)/(1+ ...))) (Lentz-free backward evaluation)
  let f = 0;
  for (let k = 60; k >= 1; k--) f = (k / 2) / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

/** SwiGLU MLP: down(silu(gate(x)) * up(x)). */
export function swiglu(
  x: Float64Array,
  n: number,
  gate: Float32Array,
  up: Float32Array,
  down: Float32Array,
  inter: number,
  out: number,
  bias?: { gate: Float32Array; up: Float32Array; down: Float32Array },
): Float64Array {
  const g = linear(x, n, gate, inter, bias?.gate);
  const u = linear(x, n, up, inter, bias?.up);
  for (let i = 0; i < g.length; i++) g[i] = silu(g[i]) * u[i];
  return linear(g, n, down, out, bias?.down);
}

/**
 * Rotate-half rotary in place: x (N, H, D) rows; cos/sin (N, D). y = x·cos + rotate_half(x)·sin with
 * rotate_half(x) = [-x2, x1] over the two halves of D.
 */
export function applyRotary(x: Float64Array, n: number, heads: number, cos: Float64Array, sin: Float64Array): void {
  const D = x.length / (n * heads), h2 = D / 2;
  const tmp = new Float64Array(D);
  for (let r = 0; r < n; r++) {
    for (let h = 0; h < heads; h++) {
      const o = (r * heads + h) * D;
      for (let i = 0; i < D; i++) {
        const rot = i < h2 ? -x[o + i + h2] : x[o + i - h2];
        tmp[i] = x[o + i] * cos[r * D + i] + rot * sin[r * D + i];
      }
      x.set(tmp, o);
    }
  }
}

/**
 * Scaled dot-product attention, q (N, Hq, D), k/v (N, Hkv, D) -> (N, Hq·D). Query head h reads kv head
 * floor(h / (Hq / Hkv)) (HF repeat_kv). `allowed(i, j)` says whether query row i may attend key row j.
 */
export function attention(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  n: number,
  hq: number,
  hkv: number,
  allowed: (i: number, j: number) => boolean,
): Float64Array {
  const D = q.length / (n * hq), rep = hq / hkv, scale = 1 / Math.sqrt(D);
  const out = new Float64Array(n * hq * D);
  const s = new Float64Array(n);
  for (let h = 0; h < hq; h++) {
    const g = Math.floor(h / rep);
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let j = 0; j < n; j++) {
        if (!allowed(i, j)) {
          s[j] = -Infinity;
          continue;
        }
        let d = 0;
        for (let e = 0; e < D; e++) d += q[(i * hq + h) * D + e] * k[(j * hkv + g) * D + e];
        s[j] = d * scale;
        if (s[j] > max) max = s[j];
      }
      let z = 0;
      for (let j = 0; j < n; j++) {
        s[j] = s[j] === -Infinity ? 0 : Math.exp(s[j] - max);
        z += s[j];
      }
      const o = (i * hq + h) * D;
      for (let j = 0; j < n; j++) {
        if (s[j] === 0) continue;
        const p = s[j] / z;
        for (let e = 0; e < D; e++) out[o + e] += p * v[(j * hkv + g) * D + e];
      }
    }
  }
  return out;
}

/** Segment id per row from cu_seqlens boundaries. */
export function segmentIds(cu: number[]): Int32Array {
  const ids = new Int32Array(cu[cu.length - 1]);
  for (let s = 0; s + 1 < cu.length; s++) ids.fill(s, cu[s], cu[s + 1]);
  return ids;
}
