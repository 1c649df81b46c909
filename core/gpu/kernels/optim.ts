/** WGSL optimiser kernels: the global gradient norm (partials, then a fixed-order total), scaling, AdamW. */
import { bindings } from "../wgsl.ts";
import { flatMain, grid1d, launch, packParams } from "../launch.ts";
import { reduceWgsl } from "../rows.ts";
import type { AdamWPlan } from "../../kernels/types.ts";
import { Tensor } from "../../tensor.ts";

const WG = 256;
/** Most workgroups one gradient's Σ g² is split over (the partial sums are then added in a fixed order). */
const MAX_PARTS = 64;

const sumSqCode = () => `
struct P { n: u32, parts: u32, offset: u32 }
${bindings(["in G", "out PART"], "P")}
${reduceWgsl(WG)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  var a = 0.0;
  for (var i = wid.x * ${WG}u + lid; i < p.n; i += p.parts * ${WG}u) { let g = G[i]; a += g * g; }
  let s = reduceSum(lid, a);
  if (lid == 0u) { PART[p.offset + wid.x] = s; }
}`;

const totalCode = () => `
struct P { parts: u32, maxNorm: f32, eps: f32 }
${bindings(["in PART", "out S"], "P")}
${reduceWgsl(WG)}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var a = 0.0;
  for (var i = lid; i < p.parts; i += ${WG}u) { a += PART[i]; }
  let norm = sqrt(reduceSum(lid, a));
  if (lid == 0u) {
    S[0] = norm;
    // clip coefficient as PyTorch: min(1, maxNorm / (norm + eps))
    S[1] = min(1.0, p.maxNorm / (norm + p.eps));
  }
}`;

const scaleCode = () => `
struct P { n: u32 }
${bindings(["in G", "in S", "out O"], "P")}
${flatMain(WG)}
  O[i] = G[i] * S[1];
}`;

export function gradNorm(grads: Tensor[], stats: Tensor, maxNorm: number, eps: number): void {
  const parts = grads.map((g) => Math.min(MAX_PARTS, Math.ceil(g.size / (WG * 16))));
  const totalParts = parts.reduce((a, b) => a + b, 0);
  const partial = Tensor.empty([Math.max(1, totalParts)], "f32", "webgpu");
  let offset = 0;
  grads.forEach((g, k) => {
    const u = packParams([["u32", g.size], ["u32", parts[k]], ["u32", offset]]);
    launch("clip_sumsq", sumSqCode, [g, partial], u, [parts[k]]);
    offset += parts[k];
  });
  const u = packParams([["u32", totalParts], ["f32", maxNorm], ["f32", eps]]);
  launch("clip_total", totalCode, [partial, stats], u, [1]);
  partial.dispose();
}

export function scaleByStat(g: Tensor, stats: Tensor, out: Tensor): void {
  launch("clip_scale", scaleCode, [g, stats, out], packParams([["u32", g.size]]), grid1d(g.size, WG));
}

const adamwCode = () => `
struct P { n: u32, lr: f32, b1: f32, b2: f32, eps: f32, decay: f32, bc1: f32, bc2: f32 }
${bindings(["out W", "in G", "out M", "out V"], "P")}
${flatMain(WG)}
  let g = G[i];
  let m = p.b1 * M[i] + (1.0 - p.b1) * g;
  let v = p.b2 * V[i] + (1.0 - p.b2) * g * g;
  M[i] = m;
  V[i] = v;
  // w ← w·(1 - lr·wd) - lr · (m / bc1) / (sqrt(v / bc2) + eps)
  W[i] = W[i] * p.decay - p.lr * (m / p.bc1) / (sqrt(v / p.bc2) + p.eps);
}`;

export function adamw(w: Tensor, g: Tensor, m: Tensor, v: Tensor, p: AdamWPlan): void {
  const u = packParams([
    ["u32", w.size],
    ["f32", p.lr],
    ["f32", p.beta1],
    ["f32", p.beta2],
    ["f32", p.eps],
    ["f32", p.decay],
    ["f32", p.bc1],
    ["f32", p.bc2],
  ]);
  launch("adamw", adamwCode, [w, g, m, v], u, grid1d(w.size, WG));
}
