/** Raw optimiser kernels (no tape): the global gradient norm, gradient scaling, the in-place AdamW update. */
import { keep, Tensor } from "../tensor.ts";
import { kernelsOf } from "./backend.ts";
import type { AdamWPlan } from "./types.ts";

/** [‖grads‖₂, min(1, maxNorm / (norm + eps))] as a (2) tensor on the gradients' device. */
export function gradNormRaw(grads: Tensor[], maxNorm: number, eps: number): Tensor {
  const { device, k } = kernelsOf("clipGradNorm", ...grads);
  const stats = Tensor.empty([2], "f32", device);
  k.gradNorm(grads, stats, maxNorm, eps);
  return stats;
}

/** g · stats[1], kept out of tidy scopes (it becomes a parameter's .grad). */
export function scaleByStatRaw(g: Tensor, stats: Tensor): Tensor {
  const { device, k } = kernelsOf("clipGradNorm", g, stats);
  const out = keep(Tensor.empty(g.shape, "f32", device));
  if (out.size > 0) k.scaleByStat(g, stats, out);
  return out;
}

export function adamwRaw(w: Tensor, g: Tensor, m: Tensor, v: Tensor, plan: AdamWPlan): void {
  const { k } = kernelsOf("adamwStep", w, g, m, v);
  k.adamw(w, g, m, v, plan);
}
