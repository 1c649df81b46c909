/**
 * LoRA on the GPU (App. B: W_Q, W_K, W_V, W_O of every LLM layer): adapters A (r, in) and B (out, r) as trainable
 * tensors with PEFT names (`model.layers.{l}.self_attn.q_proj.lora_A.weight`), and the VlmModel LinearHook that
 * adds them to the frozen base projection:  y = x Wᵀ + b + (α/r) · (mask ⊙ x) Aᵀ Bᵀ.
 * Dropout masks come from a seeded Rng and are cached per (module name) for the current micro-step, so activation
 * checkpointing's recompute of a layer sees exactly the masks of its first forward. Merge for export: W + (α/r)·B·A
 * in f64 on the host (train/lora.ts mergeLora).
 *
 * Letters: N rows (tokens), I in features, O out features, R rank.
 */
import { keep, type Rng, Tensor } from "../core/runtime.ts";
import * as op from "../core/ops/mod.ts";
import type { LinearHook } from "../core/model/vlm.ts";
import type { Weights } from "../core/model/init.ts";
import { initLoraAdapters, LORA_TARGET_MODULES, loraParamNames, type LoraTarget, mergeLora } from "./lora.ts";

export interface GpuLora {
  /** HF module name (e.g. model.layers.0.self_attn.q_proj). */
  module: string;
  A: Tensor; // (R, I)
  B: Tensor; // (O, R)
}

export interface LoraSetup {
  rank: number;
  alpha: number;
  dropout: number;
  targets: LoraTarget[];
}

/** Fresh adapters (A uniform ±1/√I, B = 0, as PEFT) for every layer and target, keyed by module name. */
export function createLoraAdapters(
  weights: Weights,
  shapes: Map<string, number[]>,
  layers: number[],
  setup: LoraSetup,
  rng: Rng,
): Map<string, GpuLora> {
  const ref = initLoraAdapters(weights, shapes, layers, setup.targets, setup, rng);
  const out = new Map<string, GpuLora>();
  for (const [baseName, ad] of ref) {
    const module = baseName.replace(/\.weight$/, "");
    const m = /^model\.layers\.(\d+)\.(.*)$/.exec(module)!;
    const target = (Object.entries(LORA_TARGET_MODULES).find(([, v]) => v === m[2])![0]) as LoraTarget;
    const names = loraParamNames(Number(m[1]), target);
    out.set(module, {
      module,
      A: Tensor.param(Float32Array.from(ad.A.data), [ad.A.rows, ad.A.cols], names.A),
      B: Tensor.param(Float32Array.from(ad.B.data), [ad.B.rows, ad.B.cols], names.B),
    });
  }
  return out;
}

export function loraParams(adapters: Map<string, GpuLora>): Tensor[] {
  return [...adapters.values()].flatMap((a) => [a.A, a.B]);
}

/**
 * The LinearHook for VlmModel.forward. `dropoutRng` null (or dropout 0) means no dropout (evaluation).
 * Call `nextStep()` between micro-steps so fresh masks are drawn (and the cached ones disposed).
 */
export class LoraHook {
  readonly #masks = new Map<string, Tensor>();
  readonly scale: number;
  constructor(
    readonly adapters: Map<string, GpuLora>,
    readonly setup: LoraSetup,
    public dropoutRng: Rng | null,
  ) {
    this.scale = setup.alpha / setup.rank;
  }

  readonly hook: LinearHook = (name, x, y) => {
    const ad = this.adapters.get(name);
    if (!ad) return y;
    const xd = this.#dropped(name, x); // (N, I)
    const h = op.matmul(xd, ad.A, { transB: true }); // (N, R)
    const delta = op.matmul(h, ad.B, { transB: true }); // (N, O)
    return op.add(y, op.mulScalar(delta, this.scale));
  };

  #dropped(name: string, x: Tensor): Tensor {
    const p = this.setup.dropout;
    if (!this.dropoutRng || p <= 0) return x;
    let mask = this.#masks.get(name);
    if (!mask || mask.size !== x.size) {
      const m = new Float32Array(x.size);
      for (let i = 0; i < m.length; i++) m[i] = this.dropoutRng.next() < p ? 0 : 1 / (1 - p);
      mask = Tensor.from(m, x.shape);
      // Masks live until nextStep(): activation checkpointing re-runs the hook during backward.
      this.#masks.get(name)?.dispose();
      this.#masks.set(name, keep(mask));
    }
    return op.mul(x, mask);
  }

  nextStep(): void {
    for (const m of this.#masks.values()) m.dispose();
    this.#masks.clear();
  }
}

/** Base weights with every adapter folded in (W + (α/r)·B·A, f64 on the host), for the head-free export. */
export async function mergeLoraIntoWeights(
  base: Weights,
  adapters: Map<string, GpuLora>,
  setup: LoraSetup,
): Promise<Weights> {
  const out: Weights = new Map(base);
  for (const ad of adapters.values()) {
    const wName = `${ad.module}.weight`;
    const W = base.get(wName)!;
    const [R, I] = ad.A.shape;
    const O = ad.B.shape[0];
    const merged = mergeLora(
      { rows: O, cols: I, data: Float64Array.from(W) },
      {
        rank: setup.rank,
        alpha: setup.alpha,
        dropout: 0,
        A: { rows: R, cols: I, data: Float64Array.from(await ad.A.toArray()) },
        B: { rows: O, cols: R, data: Float64Array.from(await ad.B.toArray()) },
      },
    );
    out.set(wName, Float32Array.from(merged.data));
  }
  return out;
}
