/**
 * Optimiser kernels: global-norm gradient clipping and the AdamW update, plus the `AdamW` optimiser over parameter
 * groups. These are the only kernels that write in place, and only into parameters and optimiser state; gradients
 * are never modified in place (a grad may share storage with another tensor), clipping replaces `.grad`.
 */
import { keep, Tensor } from "../tensor.ts";
import { noGrad } from "../tape.ts";
import { ShapeMismatchError } from "../errors.ts";
import { adamwRaw, gradNormRaw, scaleByStatRaw } from "../kernels/optim.ts";

/**
 * Clip the global L2 norm of the parameters' gradients to `maxNorm` without reading back: returns a (2) tensor
 * [total norm, applied scale]. Each `.grad` is replaced by a new scaled tensor (the old one is disposed).
 */
export function clipGradNormTensor(params: Iterable<Tensor>, maxNorm: number, eps = 1e-6): Tensor {
  const withGrad = [...params].filter((p) => p.grad && p.grad.size > 0);
  const stats = gradNormRaw(withGrad.map((p) => p.grad!), maxNorm, eps);
  for (const p of withGrad) {
    const scaled = scaleByStatRaw(p.grad!, stats);
    p.grad!.dispose();
    p.grad = scaled;
  }
  return stats;
}

/** clipGradNormTensor, then one readback: the total gradient norm before clipping. */
export async function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, eps = 1e-6): Promise<number> {
  const stats = clipGradNormTensor(params, maxNorm, eps);
  try {
    return (await stats.toArray())[0];
  } finally {
    stats.dispose();
  }
}

/** One AdamW step's hyperparameters. */
export interface AdamWHyper {
  /** Learning rate. */
  lr: number;
  /** First-moment decay (default 0.9). */
  beta1?: number;
  /** Second-moment decay (default 0.999). */
  beta2?: number;
  /** Denominator epsilon (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay (multiplies lr · param). */
  weightDecay?: number;
  /** 1-based step number for bias correction. */
  step: number;
}

/** One in-place AdamW update of `param`, `m` and `v` (decoupled weight decay, bias correction), as PyTorch. */
export function adamwStep(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, h: AdamWHyper): void {
  for (const t of [grad, m, v]) {
    if (t.size !== param.size) throw new ShapeMismatchError("adamwStep", `[${t.shape}] vs param [${param.shape}]`);
  }
  if (param.size === 0) return;
  const b1 = h.beta1 ?? 0.9, b2 = h.beta2 ?? 0.999;
  // w ← w·(1 - lr·wd) - lr · (m / bc1) / (sqrt(v / bc2) + eps)
  adamwRaw(param, grad, m, v, {
    lr: h.lr,
    beta1: b1,
    beta2: b2,
    eps: h.eps ?? 1e-8,
    decay: 1 - h.lr * (h.weightDecay ?? 0),
    bc1: 1 - b1 ** h.step,
    bc2: 1 - b2 ** h.step,
  });
}

/** Parameters sharing a learning rate. */
export interface ParamGroup {
  /** The group's parameters. */
  params: Tensor[];
  /** The group's peak learning rate (scaled per step by AdamW.step's lrScale). */
  lr: number;
  /** Overrides the optimiser's default weight decay for this group (e.g. 0 for norms and biases). */
  weightDecay?: number;
}

/** AdamW defaults for every group. */
export interface AdamWOptions {
  /** First-moment decay (default 0.9). */
  beta1?: number;
  /** Second-moment decay (default 0.999). */
  beta2?: number;
  /** Denominator epsilon (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay (default 0.01). */
  weightDecay?: number;
}

/** Optimiser state for checkpoints, in parameter order (groups in order, params in order). */
export interface AdamWState {
  /** Parameter names. */
  names: string[];
  /** Updates done per parameter. */
  steps: number[];
  /** First moments. */
  m: Float32Array[];
  /** Second moments. */
  v: Float32Array[];
}

/** AdamW over parameter groups; each group has its own learning rate (scaled per step by `lrScale`). */
export class AdamW {
  /** The parameter groups. */
  readonly groups: ParamGroup[];
  /** Hyperparameters with defaults filled in. */
  readonly opts: Required<AdamWOptions>;
  #m = new Map<Tensor, Tensor>();
  #v = new Map<Tensor, Tensor>();
  #steps = new Map<Tensor, number>();

  /** AdamW over `groups`; state is made lazily, on each parameter's device. */
  constructor(groups: ParamGroup[], opts: AdamWOptions = {}) {
    this.groups = groups;
    this.opts = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, ...opts };
  }

  /** Every parameter of every group, in order. */
  get params(): Tensor[] {
    return this.groups.flatMap((g) => g.params);
  }

  #state(p: Tensor): [Tensor, Tensor] {
    let m = this.#m.get(p), v = this.#v.get(p);
    if (!m || !v) {
      m = keep(Tensor.from(new Float32Array(p.size), p.shape, { device: p.device }));
      v = keep(Tensor.from(new Float32Array(p.size), p.shape, { device: p.device }));
      this.#m.set(p, m);
      this.#v.set(p, v);
    }
    return [m, v];
  }

  /** Update every parameter that has a gradient; lr of each group × lrScale (a schedule's factor). */
  step(lrScale = 1): void {
    noGrad(() => {
      for (const g of this.groups) {
        for (const p of g.params) {
          if (!p.grad) continue;
          const [m, v] = this.#state(p);
          const step = (this.#steps.get(p) ?? 0) + 1;
          this.#steps.set(p, step);
          adamwStep(p, p.grad, m, v, {
            lr: g.lr * lrScale,
            beta1: this.opts.beta1,
            beta2: this.opts.beta2,
            eps: this.opts.eps,
            weightDecay: g.weightDecay ?? this.opts.weightDecay,
            step,
          });
        }
      }
    });
  }

  /** Read the state back (m, v as Float32Arrays; zeros and step 0 for parameters never updated). */
  async exportState(): Promise<AdamWState> {
    const s: AdamWState = { names: [], steps: [], m: [], v: [] };
    for (const p of this.params) {
      s.names.push(p.name);
      s.steps.push(this.#steps.get(p) ?? 0);
      const m = this.#m.get(p), v = this.#v.get(p);
      s.m.push(m ? await m.toArray() : new Float32Array(p.size));
      s.v.push(v ? await v.toArray() : new Float32Array(p.size));
    }
    return s;
  }

  /** Restore state exported from an optimiser over the same parameters (same order, names and sizes). */
  importState(s: AdamWState): void {
    const ps = this.params;
    if (s.names.length !== ps.length) {
      throw new ShapeMismatchError("AdamW.importState", `${s.names.length} entries for ${ps.length} parameters`);
    }
    ps.forEach((p, i) => {
      if (s.names[i] !== p.name || s.m[i].length !== p.size || s.v[i].length !== p.size) {
        throw new ShapeMismatchError(
          "AdamW.importState",
          `entry ${i} (${s.names[i]}, ${s.m[i].length}) does not match parameter ${p.name} [${p.shape}]`,
        );
      }
    });
    this.dispose();
    ps.forEach((p, i) => {
      this.#m.set(p, keep(Tensor.from(s.m[i], p.shape, { device: p.device })));
      this.#v.set(p, keep(Tensor.from(s.v[i], p.shape, { device: p.device })));
      this.#steps.set(p, s.steps[i]);
    });
  }

  /** Free the optimiser state. */
  dispose(): void {
    for (const t of [...this.#m.values(), ...this.#v.values()]) t.dispose();
    this.#m.clear();
    this.#v.clear();
    this.#steps.clear();
  }
}

/** f64 reference for one AdamW step; returns new (param, m, v). */
export function adamwReference(
  param: Float64Array,
  grad: Float64Array,
  m: Float64Array,
  v: Float64Array,
  h: AdamWHyper,
): { param: Float64Array; m: Float64Array; v: Float64Array } {
  const b1 = h.beta1 ?? 0.9, b2 = h.beta2 ?? 0.999, eps = h.eps ?? 1e-8, wd = h.weightDecay ?? 0;
  const bc1 = 1 - b1 ** h.step, bc2 = 1 - b2 ** h.step;
  const out = { param: new Float64Array(param.length), m: new Float64Array(m.length), v: new Float64Array(v.length) };
  for (let i = 0; i < param.length; i++) {
    out.m[i] = b1 * m[i] + (1 - b1) * grad[i];
    out.v[i] = b2 * v[i] + (1 - b2) * grad[i] ** 2;
    out.param[i] = param[i] * (1 - h.lr * wd) - h.lr * (out.m[i] / bc1) / (Math.sqrt(out.v[i] / bc2) + eps);
  }
  return out;
}

/** f64 reference for global-norm clipping: the total norm and the clipped gradients. */
export function clipGradNormReference(
  grads: Float64Array[],
  maxNorm: number,
  eps = 1e-6,
): { norm: number; grads: Float64Array[] } {
  const norm = Math.sqrt(grads.reduce((a, g) => a + g.reduce((s, x) => s + x * x, 0), 0));
  const scale = Math.min(1, maxNorm / (norm + eps));
  return { norm, grads: grads.map((g) => g.map((x) => x * scale)) };
}
