/**
 * f64 reference of the optimisation step (App. B / Sec 5.1): global-norm gradient clipping, gradient accumulation,
 * and AdamW with decoupled weight decay and per-group learning rates (heads at 4× the LoRA rate).
 * The GPU optimiser is tested against these functions; the update matches torch.optim.AdamW step for step.
 *
 * AdamW, for every parameter p with gradient g at step t = 1, 2, … and group lr η = baseLr(step) · lrMultiplier:
 *   p ← p − η λ p                                   (decoupled weight decay, λ = group weightDecay)
 *   m ← β1 m + (1 − β1) g,   v ← β2 v + (1 − β2) g²
 *   p ← p − η · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)
 */
import { ShapeMismatchError } from "../../core/errors.ts";

export interface ParamGroup {
  name: string;
  /** Multiplier on the scheduled base LR (1 for LoRA, headLrMultiplier for the correspondence heads). */
  lrMultiplier: number;
  weightDecay: number;
  /** Parameter names in this group. */
  params: string[];
}

export interface AdamWHyper {
  betas: [number, number];
  eps: number;
}

export interface AdamWState {
  /** Optimizer steps taken so far (t of the bias correction). */
  step: number;
  /** First moments (exp_avg), by parameter name. */
  m: Map<string, Float64Array>;
  /** Second moments (exp_avg_sq), by parameter name. */
  v: Map<string, Float64Array>;
}

export function createAdamWState(params: Map<string, Float64Array>): AdamWState {
  const m = new Map<string, Float64Array>();
  const v = new Map<string, Float64Array>();
  for (const [name, p] of params) {
    m.set(name, new Float64Array(p.length));
    v.set(name, new Float64Array(p.length));
  }
  return { step: 0, m, v };
}

/**
 * Splits trainable parameters into groups: LoRA matrices (base LR), head weights (headLrMultiplier × LR), and
 * head biases (same LR, no decay: decaying a bias only pulls the embedding centre toward 0). LoRA names contain
 * ".lora_A." / ".lora_B."; head names start with "correspondence_heads.". Anything else is an error.
 */
export function defaultParamGroups(
  names: string[],
  o: { weightDecay: number; headLrMultiplier: number },
): ParamGroup[] {
  const lora: string[] = [];
  const headW: string[] = [];
  const headB: string[] = [];
  for (const n of names) {
    if (n.includes(".lora_A.") || n.includes(".lora_B.")) lora.push(n);
    else if (n.startsWith("correspondence_heads.")) (n.endsWith(".bias") ? headB : headW).push(n);
    else throw new ShapeMismatchError("defaultParamGroups", `parameter ${n} is neither LoRA nor a correspondence head`);
  }
  return [
    { name: "lora", lrMultiplier: 1, weightDecay: o.weightDecay, params: lora },
    { name: "heads", lrMultiplier: o.headLrMultiplier, weightDecay: o.weightDecay, params: headW },
    { name: "heads_no_decay", lrMultiplier: o.headLrMultiplier, weightDecay: 0, params: headB },
  ].filter((g) => g.params.length > 0);
}

/** One AdamW step over all groups, in place. baseLr is the scheduled LR for this step. */
export function adamWStep(
  params: Map<string, Float64Array>,
  grads: Map<string, Float64Array>,
  state: AdamWState,
  groups: ParamGroup[],
  baseLr: number,
  h: AdamWHyper,
): void {
  state.step += 1;
  const t = state.step;
  const [b1, b2] = h.betas;
  const bc1 = 1 - b1 ** t;
  const bc2 = 1 - b2 ** t;
  for (const g of groups) {
    const lr = baseLr * g.lrMultiplier;
    for (const name of g.params) {
      const p = params.get(name);
      const grad = grads.get(name);
      const m = state.m.get(name);
      const v = state.v.get(name);
      if (!p || !grad || !m || !v) {
        throw new ShapeMismatchError("adamWStep", `missing parameter/grad/state for ${name}`);
      }
      if (grad.length !== p.length) {
        throw new ShapeMismatchError("adamWStep", `${name}: grad ${grad.length} vs ${p.length}`);
      }
      for (let i = 0; i < p.length; i++) {
        p[i] -= lr * g.weightDecay * p[i];
        m[i] = b1 * m[i] + (1 - b1) * grad[i];
        v[i] = b2 * v[i] + (1 - b2) * grad[i] * grad[i];
        p[i] -= (lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + h.eps);
      }
    }
  }
}

/**
 * Global-norm clipping (torch.nn.utils.clip_grad_norm_): norm = √(Σ ‖g‖²) over all gradients; if norm > maxNorm,
 * every gradient is scaled in place by maxNorm / (norm + 1e-6). Returns the pre-clip norm (logged as grad_norm).
 */
export function clipGradNorm(grads: Iterable<Float64Array>, maxNorm: number): { norm: number; scale: number } {
  const list = [...grads];
  let sq = 0;
  for (const g of list) for (const x of g) sq += x * x;
  const norm = Math.sqrt(sq);
  const scale = norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
  if (scale !== 1) { for (const g of list) for (let i = 0; i < g.length; i++) g[i] *= scale; }
  return { norm, scale };
}

/**
 * Gradient accumulation: acc += g / gradAccum, so after gradAccum micro-batches acc is the mean gradient
 * (same as one batch gradAccum times larger when each micro-batch loss is a mean).
 */
export function accumulateGrad(acc: Float64Array, g: Float64Array, gradAccum: number): void {
  if (acc.length !== g.length) throw new ShapeMismatchError("accumulateGrad", `${acc.length} vs ${g.length}`);
  for (let i = 0; i < acc.length; i++) acc[i] += g[i] / gradAccum;
}
