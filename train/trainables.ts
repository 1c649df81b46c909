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
import type * as op from "../core/ops/mod.ts";
import type { Rng, Tensor } from "../core/runtime.ts";
import { TINY_CONFIG, type VlmConfig } from "../core/model/config.ts";
import { exportHeadFreeModel } from "../core/model/export_onnx.ts";
import { writeModelFolder } from "../core/model/folder/model_folder.ts";
import { type OpenModel, openModel } from "../core/model/folder/open.ts";
import { resolveWeightDType } from "../core/model/device_weights.ts";
import { initWasm } from "../core/device_init.ts";
import { EXACT_SVD_MAX_WIDTH } from "./head_svd.ts";
import { exportMergedHfFolder, type FoldableAdapter } from "../core/model/hf_export.ts";
import { mapWeightReader, type WeightReader } from "../core/model/weight_reader.ts";
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
  /** tokenizer.json text for stage "base" (default: the tiny tokenizer). */
  tokenizerJson?: string;
}

export interface StageBase extends OpenModel {
  /** The checkpoint's base reference: the base path as given (and its key layout), or "tiny-from-scratch". */
  ref: { model: string; keyLayout?: KeyLayout };
  /** One line saying what the base is (printed by train()). */
  description: string;
}

/**
 * Stage "base": fresh seeded weights (in memory); stage "gasp": the base, whichever form its path has, opened for
 * streaming (an HF folder's weights are read tensor by tensor as they go onto the device). Close it when done.
 */
export async function loadStageBase(config: TrainConfig, o: StageBaseOptions): Promise<StageBase> {
  if (config.stage === "base") {
    const c = o.modelConfig ?? TINY_CONFIG;
    const tokenizerJson = o.tokenizerJson ?? buildTinyTokenizerJson(0);
    const weights = mapWeightReader(initParameters(c, config.seed), parameterShapes(c));
    const description = `${c.num_hidden_layers}-layer VLM from scratch (seeded init, seed ${config.seed})`;
    return {
      config: c,
      weights,
      tokenizerJson,
      folder: null,
      close: () => {},
      ref: { model: "tiny-from-scratch" },
      description,
    };
  }
  const dir = o.baseDir ?? "runs/base";
  const resolved = resolveModelDir(dir, "--model");
  const base = await openModel(resolved);
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
  /** Stage "base" also writes the run folder as a model folder (the next stage's base). */
  writesModelFolder: boolean;
}

/** The q_proj weight and bias of each head layer, read from the base (what the heads' SVD init needs). */
export async function headInitWeights(base: WeightReader, layers: number[]): Promise<Weights> {
  const out: Weights = new Map();
  for (const l of layers) {
    for (const n of [`model.layers.${l}.self_attn.q_proj.weight`, `model.layers.${l}.self_attn.q_proj.bias`]) {
      out.set(n, await base.read(n));
    }
  }
  return out;
}

/**
 * The trainable parameters of `config.stage` on `base`; every random draw comes from `rngInit` (heads, then LoRA).
 * The base streams onto the device: frozen (stage gasp) as `config.dtype` resolves for its storage
 * (core/model/device_weights.ts), trainable (stage base) in f32.
 * `restoring`: a resumed run overwrites every trainable from its checkpoint, so the heads' SVD init is skipped.
 */
export async function trainables(
  config: TrainConfig,
  base: OpenModel,
  rngInit: Rng,
  rngDropout: Rng,
  restoring = false,
): Promise<Trainables> {
  // The run's M-RoPE frame layout rides on the model's config (core/model/rope_index.ts), so every forward of this
  // model and its export's config.json follow it; the default layout leaves the base's config as it is.
  const fp = config.data.framePositions;
  const c = (base.config.frame_positions ?? "images") === fp ? base.config : { ...base.config, frame_positions: fp };
  const isBase = config.stage === "base";
  const dtype = isBase ? "f32" : resolveWeightDType(config.dtype, base.weights.storedDType);
  const model = await VlmModel.load(c, base.weights, { dtype, trainable: isBase });
  const headLayers = !isBase && config.data.correspondence === "heads"
    ? resolveHeadLayers(config.head.layers, c.num_hidden_layers)
    : [];
  // Real widths take the randomized SVD, whose products run on the WASM GEMM (started here if the device is WebGPU).
  if (!restoring && headLayers.length && c.hidden_size > EXACT_SVD_MAX_WIDTH) await initWasm();
  const qProj = restoring ? new Map() : await headInitWeights(base.weights, headLayers);
  const heads = createHeads(qProj, c.hidden_size, headLayers, config.head, rngInit, restoring);
  const loraSetup: LoraSetup = { ...config.lora, targets: config.lora.targets as LoraTarget[] };
  const allLayers = isBase ? [] : [...Array(c.num_hidden_layers).keys()];
  const shapes = parameterShapes(c);
  const lora = createLoraAdapters(shapes, shapes, allLayers, loraSetup, rngInit, c.vision_config.depth);
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
    writesModelFolder: isBase,
  };
}

/**
 * Writes RUN/export (and, for stage base, RUN as a model folder); returns the export dir. A GASP run's export is
 * the base with the LoRA folded in, heads dropped: for a base stored in 16 bits (a downloaded HF checkpoint) an HF
 * folder in the base's dtype and key layout, streamed from the base folder one tensor at a time
 * (core/model/hf_export.ts, what transformers loads; `deno task export --format onnx` makes the ONNX form); for
 * our f32 bases the head-free ONNX export (core/model/export_onnx.ts), built from the weights in host memory.
 */
export async function exportTrained(t: Trainables, base: OpenModel, out: string): Promise<string> {
  const exportDir = join(out, "export");
  if (t.writesModelFolder) {
    const weights = await t.model.toWeights();
    await writeModelFolder(out, { config: t.model.config, weights, tokenizerJson: base.tokenizerJson });
    await exportHeadFreeModel(t.model.config, weights, base.tokenizerJson, exportDir);
    return exportDir;
  }
  if (base.folder && base.weights.storedDType !== "F32" && base.weights.storedDType !== "F64") {
    const adapters = new Map<string, FoldableAdapter>();
    for (const ad of t.lora.values()) {
      adapters.set(`${ad.module}.weight`, { A: await ad.A.toArray(), B: await ad.B.toArray(), rank: ad.A.shape[0] });
    }
    const scale = t.loraSetup.alpha / t.loraSetup.rank;
    await exportMergedHfFolder(exportDir, { baseDir: base.folder, config: t.model.config, adapters, scale });
    return exportDir;
  }
  const weights: Weights = new Map();
  for (const name of base.weights.names) weights.set(name, await base.weights.read(name));
  const merged = await mergeLoraIntoWeights(weights, t.lora, t.loraSetup);
  await exportHeadFreeModel(t.model.config, merged, base.tokenizerJson, exportDir);
  return exportDir;
}
