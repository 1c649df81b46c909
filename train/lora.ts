/**
 * LoRA (Hu et al. 2021) on the attention projections (App. B: W_Q, W_K, W_V, W_O of every LLM layer): adapters
 * A (r, in) and B (out, r) as trainable tensors with PEFT names (`model.layers.{l}.self_attn.q_proj.lora_A.weight`),
 * and the VlmModel LinearHook that adds them to the frozen base projection:  y = x Wᵀ + b + (α/r) · (mask ⊙ x) Aᵀ Bᵀ.
 * Init as PEFT: A ~ U(−1/√in, 1/√in) (kaiming_uniform with a = √5), B = 0, so the adapted model starts equal to the
 * base. Dropout masks come from a seeded Rng and are cached per (module name) for the current micro-step, so
 * activation checkpointing's recompute of a layer sees exactly the masks of its first forward. Merge for export:
 * W + (α/r)·B·A in f64 on the host (core/model/lora_merge.ts). The f64 reference is train/reference/lora.ts.
 *
 * Letters: N rows (tokens), I in features, O out features, R rank.
 */
import { keep, type Rng, Tensor } from "../core/runtime.ts";
import * as op from "../core/ops/mod.ts";
import { ShapeMismatchError } from "../core/errors.ts";
import type { LinearHook } from "../core/model/vlm.ts";
import type { Weights } from "../core/model/init.ts";
import { mergeLoraWeights } from "../core/model/lora_merge.ts";

/** An attention projection LoRA can adapt: W_Q, W_K, W_V or W_O. */
export type LoraTarget = "q" | "k" | "v" | "o";

/** HF module path of each target inside a decoder layer. */
export const LORA_TARGET_MODULES: Record<LoraTarget, string> = {
  q: "self_attn.q_proj",
  k: "self_attn.k_proj",
  v: "self_attn.v_proj",
  o: "self_attn.o_proj",
};

/** HF name of the frozen base weight, e.g. model.layers.3.self_attn.k_proj.weight. */
export function baseWeightName(layer: number, target: LoraTarget): string {
  return `model.layers.${layer}.${LORA_TARGET_MODULES[target]}.weight`;
}

/**
 * The vision blocks' attention projections LoRA adapts when `LoraSetup.vision` is on (issue 13 candidate (d)): the
 * fused qkv and the output proj of every vision block, as HF names them (visual.blocks.{l}.attn.qkv).
 */
export const VISION_LORA_MODULES = ["attn.qkv", "attn.proj"] as const;

/** PEFT names of the adapter matrices of one target. */
export function loraParamNames(layer: number, target: LoraTarget): { A: string; B: string } {
  const m = `model.layers.${layer}.${LORA_TARGET_MODULES[target]}`;
  return { A: `${m}.lora_A.weight`, B: `${m}.lora_B.weight` };
}

/** One adapted linear on the device. */
export interface LoraAdapter {
  /** HF module name (e.g. model.layers.0.self_attn.q_proj). */
  module: string;
  /** (R, I) down projection. */
  A: Tensor; // (R, I)
  /** (O, R) up projection, zero at init. */
  B: Tensor; // (O, R)
}

/** Rank, scale, dropout and targets of a run's adapters (TrainConfig `lora`). */
export interface LoraSetup {
  /** Rank r. */
  rank: number;
  /** α: the update is scaled by α/r. */
  alpha: number;
  /** Dropout on the adapter input. */
  dropout: number;
  /** Projections adapted. */
  targets: LoraTarget[];
  /** Also adapt every vision block's attn.qkv and attn.proj (default false: App. B adapts the LLM only). */
  vision?: boolean;
}

/** Fresh adapters (A uniform ±1/√I, B = 0, as PEFT) for every layer and target, keyed by module name. */
export function createLoraAdapters(
  weights: { has(name: string): boolean },
  shapes: Map<string, number[]>,
  layers: number[],
  setup: LoraSetup,
  rng: Rng,
  visionBlocks = 0,
): Map<string, LoraAdapter> {
  const out = new Map<string, LoraAdapter>();
  const add = (module: string) => {
    const name = `${module}.weight`;
    const shape = shapes.get(name);
    if (!weights.has(name) || !shape || shape.length !== 2) {
      throw new ShapeMismatchError("createLoraAdapters", `missing 2-D base weight ${name}`);
    }
    const [O, I] = shape, R = setup.rank;
    const A = new Float32Array(R * I);
    const bound = 1 / Math.sqrt(I);
    for (let i = 0; i < A.length; i++) A[i] = rng.uniform(-bound, bound);
    out.set(module, {
      module,
      A: Tensor.param(A, [R, I], `${module}.lora_A.weight`),
      B: Tensor.param(new Float32Array(O * R), [O, R], `${module}.lora_B.weight`),
    });
  };
  // One Rng, in layer then q, k, v, o order; shapes come from the base (k_proj is (kv_heads · head_dim, d) under GQA).
  const order: LoraTarget[] = (["q", "k", "v", "o"] as const).filter((t) => setup.targets.includes(t));
  for (const l of [...layers].sort((a, b) => a - b)) {
    for (const t of order) add(baseWeightName(l, t).replace(/\.weight$/, ""));
  }
  // Then the vision blocks (drawn after the LLM's, so the LLM adapters' init is the same with or without them).
  if (setup.vision) {
    for (let b = 0; b < visionBlocks; b++) for (const m of VISION_LORA_MODULES) add(`visual.blocks.${b}.${m}`);
  }
  return out;
}

export function loraParams(adapters: Map<string, LoraAdapter>): Tensor[] {
  return [...adapters.values()].flatMap((a) => [a.A, a.B]);
}

/**
 * The LinearHook for VlmModel.forward. `dropoutRng` null (or dropout 0) means no dropout (evaluation).
 * Call `nextStep()` between micro-steps so fresh masks are drawn (and the cached ones disposed).
 */
export class LoraHook {
  readonly #masks = new Map<string, Tensor>();
  /** α/r. */
  readonly scale: number;
  /**
   * Wraps `adapters`.
   * @param adapters by module name
   * @param setup rank, α and dropout
   * @param dropoutRng the dropout stream (null: no dropout, for evaluation)
   */
  constructor(
    readonly adapters: Map<string, LoraAdapter>,
    readonly setup: LoraSetup,
    public dropoutRng: Rng | null,
  ) {
    this.scale = setup.alpha / setup.rank;
  }

  /** The LinearHook to pass to the forward: y + (α/r)·B·A·dropout(x) for adapted modules, y otherwise. */
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

  /** Drops this step's dropout masks, so the next forward draws fresh ones. */
  nextStep(): void {
    for (const m of this.#masks.values()) m.dispose();
    this.#masks.clear();
  }
}

/** Base weights with every adapter folded in (W + (α/r)·B·A, f64 on the host), for the head-free export. */
export async function mergeLoraIntoWeights(
  base: Weights,
  adapters: Map<string, LoraAdapter>,
  setup: LoraSetup,
): Promise<Weights> {
  const host = [];
  for (const ad of adapters.values()) {
    host.push({ module: ad.module, rank: ad.A.shape[0], A: await ad.A.toArray(), B: await ad.B.toArray() });
  }
  return mergeLoraWeights(base, host, setup.alpha / setup.rank);
}
