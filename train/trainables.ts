/**
 * What a training stage trains, decided once so the loop (train/loop.ts) has no stage branches:
 *   "base": the tiny VLM from scratch (core/model/init.ts with the run's seed): every parameter, no LoRA, no heads;
 *           at the end the trained weights are the run's model folder and export.
 *   "gasp": a frozen base (a model folder) + LoRA on W_Q/W_K/W_V/W_O of every layer (App. B) + correspondence heads on
 *           the configured layers when the preset supervises them (Sec 4.1); at the end the LoRA is merged into the
 *           base and the head-free model exported.
 * Optimizer groups (App. B / Sec 5.1): base weights at lr; LoRA at lr; heads at headLrMultiplier × lr. Rank-1 tensors
 * (biases, norm gains) get no weight decay.
 */
import { join } from "node:path";
import * as op from "../core/ops/mod.ts";
import type { Rng, Tensor } from "../core/runtime.ts";
import { TINY_CONFIG, type VlmConfig } from "../core/model/config.ts";
import { exportHeadFreeModel } from "../core/model/export_onnx.ts";
import { type ModelFolder, writeModelFolder } from "../core/model/folder/model_folder.ts";
import { loadModel } from "../core/model/folder/load.ts";
import { resolveModelDir } from "../core/model/folder/resolve.ts";
import { initParameters, parameterShapes, type Weights } from "../core/model/init.ts";
import type { KeyLayout } from "../core/model/hf_weights.ts";
import { VlmModel } from "../core/model/vlm.ts";
import { buildTinyTokenizerJson } from "../core/text/build_tokenizer.ts";
import { resolveHeadLayers, type TrainConfig } from "./config.ts";
import { type CorrespondenceHead, createHeads, headParams } from "./correspondence_head.ts";
import {
  createLoraAdapters,
  type LoraAdapter,
  LoraHook,
  loraParams,
  type LoraSetup,
  type LoraTarget,
  mergeLoraIntoWeights,
} from "./lora.ts";

/** Where the stage's starting weights come from. */
export interface StageBaseOptions {
  /**
   * The frozen base for stage "gasp" (default runs/base): a model folder, an export, a training run or a step
   * checkpoint (core/model/folder/resolve.ts).
   */
  baseDir?: string;
  /** Architecture for stage "base" (default TINY_CONFIG) and its tokenizer.json (default the tiny tokenizer). */
  modelConfig?: VlmConfig;
  tokenizerJson?: string;
}

export interface StageBase extends ModelFolder {
  /** The checkpoint's base reference: the base path as given (and its key layout), or "tiny-from-scratch". */
  ref: { model: string; keyLayout?: KeyLayout };
  /** One line saying what the base is (printed by train()). */
  description: string;
}

/** Stage "base": fresh seeded weights; stage "gasp": the base, whichever form its path has. */
export async function loadStageBase(config: TrainConfig, o: StageBaseOptions): Promise<StageBase> {
  if (config.stage === "base") {
    const c = o.modelConfig ?? TINY_CONFIG;
    const tokenizerJson = o.tokenizerJson ?? buildTinyTokenizerJson(0);
    const weights = initParameters(c, config.seed);
    const description = `${c.num_hidden_layers}-layer VLM from scratch (seeded init, seed ${config.seed})`;
    return { config: c, weights, tokenizerJson, ref: { model: "tiny-from-scratch" }, description };
  }
  const dir = o.baseDir ?? "runs/base";
  const resolved = resolveModelDir(dir, "--model");
  const base = await loadModel(resolved);
  return { ...base, ref: { model: dir, keyLayout: base.keyLayout }, description: resolved.description };
}

export interface Trainables {
  /** The model the loop runs forward (its own parameters train only in stage "base"). */
  model: VlmModel;
  heads: Map<number, CorrespondenceHead>;
  lora: Map<string, LoraAdapter>;
  loraSetup: LoraSetup;
  /** LinearHook with LoRA dropout for training; null when no LoRA is trained. */
  trainHook: LoraHook | null;
  /** The same adapters without dropout (evaluation); null when no LoRA is trained. */
  evalHook: LoraHook | null;
  /** AdamW parameter groups, in checkpoint order. */
  groups: op.ParamGroup[];
  /** The weights training produced: the trained model (stage base) or the base with the LoRA merged in. */
  trainedWeights: () => Promise<Weights>;
  /** Stage "base" also writes the run folder as a model folder (the next stage's base). */
  writesModelFolder: boolean;
}

/**
 * The trainable parameters of `config.stage` on `base`; every random draw comes from `rngInit` (heads, then LoRA).
 * `restoring`: a resumed run overwrites every trainable from its checkpoint, so the heads' SVD init is skipped.
 */
export function trainables(
  config: TrainConfig,
  base: ModelFolder,
  rngInit: Rng,
  rngDropout: Rng,
  restoring = false,
): Trainables {
  const c = base.config;
  const isBase = config.stage === "base";
  const model = new VlmModel(c, base.weights, { trainable: isBase });
  const headLayers = !isBase && config.data.correspondence === "heads"
    ? resolveHeadLayers(config.head.layers, c.num_hidden_layers)
    : [];
  const heads = createHeads(base.weights, c.hidden_size, headLayers, config.head, rngInit, restoring);
  const loraSetup: LoraSetup = { ...config.lora, targets: config.lora.targets as LoraTarget[] };
  const allLayers = isBase ? [] : [...Array(c.num_hidden_layers).keys()];
  const lora = createLoraAdapters(base.weights, parameterShapes(c), allLayers, loraSetup, rngInit);
  const o = config.optim;
  const isNoDecay = (t: Tensor) => t.rank === 1; // biases and norm gains
  const split = (ts: Tensor[], lr: number): op.ParamGroup[] => [
    { params: ts.filter((t) => !isNoDecay(t)), lr },
    { params: ts.filter(isNoDecay), lr, weightDecay: 0 },
  ];
  const groups = isBase
    ? split([...model.params.values()], o.lr)
    : [{ params: loraParams(lora), lr: o.lr }, ...split(headParams(heads), o.lr * o.headLrMultiplier)];
  return {
    model,
    heads,
    lora,
    loraSetup,
    trainHook: isBase ? null : new LoraHook(lora, loraSetup, rngDropout),
    evalHook: isBase ? null : new LoraHook(lora, loraSetup, null),
    groups: groups.filter((g) => g.params.length > 0),
    trainedWeights: () => isBase ? model.toWeights() : mergeLoraIntoWeights(base.weights, lora, loraSetup),
    writesModelFolder: isBase,
  };
}

/** Writes RUN/export (and, for stage base, RUN as a model folder); returns the export dir. */
export async function exportTrained(t: Trainables, base: ModelFolder, out: string): Promise<string> {
  const weights = await t.trainedWeights();
  if (t.writesModelFolder) {
    await writeModelFolder(out, { config: base.config, weights, tokenizerJson: base.tokenizerJson });
  }
  const exportDir = join(out, "export");
  await exportHeadFreeModel(base.config, weights, base.tokenizerJson, exportDir);
  return exportDir;
}
