/**
 * `deno task train --plan`: the settings of a run as the planner needs them (core/model/train_plan.ts), from the
 * resolved TrainConfig and the base model's config.json, and the device profiles it is checked against.
 */
import { smartResize } from "../core/image/preprocess.ts";
import type { VlmConfig } from "../core/model/config.ts";
import {
  type DeviceLimits,
  forwardFlops,
  LLVMPIPE_BINDING,
  planTraining,
  type TrainPlan,
  type TrainPlanSettings,
  WASM32_MEMORY,
  WGPU_BINDING_CAP,
} from "../core/model/train_plan.ts";
import { resolveHeadLayers, type TrainConfig } from "./config.ts";

/** Side of the default dataset's frames (core/scene/dataset.ts grid 8: 8 × 28 px). */
export const PLAN_IMAGE_SIDE = 224;
/** An allowance for the chat template, question and answer tokens around the images (an estimate, not measured). */
const TEXT_TOKENS = 48;

/** The device profiles `--plan` prints: a hardware WebGPU adapter at wgpu's cap, llvmpipe, and one wasm32 memory. */
export const PLAN_DEVICES: readonly DeviceLimits[] = [
  { name: "webgpu (hardware, wgpu cap)", maxBindingBytes: WGPU_BINDING_CAP, f16: true },
  { name: "webgpu (llvmpipe)", maxBindingBytes: LLVMPIPE_BINDING, f16: true },
  { name: "wasm (one wasm32 memory)", maxBindingBytes: WASM32_MEMORY, maxTotalBytes: WASM32_MEMORY, f16: true },
];

/** Planner settings for a run: its longest item is a GASP item of framesPerItem frames of the default size. */
export function planSettings(config: TrainConfig, model: VlmConfig, imageSide = PLAN_IMAGE_SIDE): TrainPlanSettings {
  const v = model.vision_config;
  const factor = v.patch_size * v.spatial_merge_size;
  const [h, w] = smartResize(imageSide, imageSide, factor);
  const patchesPerImage = (h / v.patch_size) * (w / v.patch_size);
  const tokensPerImage = patchesPerImage / v.spatial_merge_size ** 2;
  const frames = config.data.correspondence === "heads" ? config.data.framesPerItem : 1;
  const visualTokens = frames * tokensPerImage;
  const useHeads = config.stage === "gasp" && config.data.correspondence === "heads";
  return {
    loraRank: config.lora.rank,
    loraTargets: config.lora.targets,
    headShape: config.head.shape,
    headDEmb: config.head.dEmb,
    headLayers: useHeads ? resolveHeadLayers(config.head.layers, model.num_hidden_layers).length : 0,
    tokens: visualTokens + frames * 2 + TEXT_TOKENS,
    visualTokens,
    patches: frames * patchesPerImage,
    // At most one query point per anchor-frame patch, matched in each of the other frames.
    pairs: useHeads ? tokensPerImage * (frames - 1) : 0,
    // QA answers are a word or a short phrase: 32 tokens is an allowance (not measured).
    answerTokens: 32,
    dtype: config.dtype,
    activationCheckpointing: config.activationCheckpointing,
  };
}

/** FLOPs a before/after PCK pass may spend per model (≈ 1 min at this CPU's ~20 GFLOP/s, shared). */
export const PCK_PASS_FLOPS = 1.2e12;

/**
 * How many held-out sequences the default pipeline scores before and after training when --pck-sequences is not
 * given: 24 (the tiny model's, a few seconds each), fewer for models whose forward over one sequence is costly,
 * so that a pass stays within PCK_PASS_FLOPS, at least 2. A 3B-width model with 2 layers gets 3 (each 8-frame
 * sequence is ~0.4 TFLOP); a full 3B gets 2.
 */
export function defaultPckSequences(config: TrainConfig, model: VlmConfig): number {
  const s = planSettings(config, model);
  const perSequence = forwardFlops(model, s.patches, s.tokens);
  return Math.max(2, Math.min(24, Math.floor(PCK_PASS_FLOPS / perSequence)));
}

export function planRun(config: TrainConfig, model: VlmConfig, devices = PLAN_DEVICES): TrainPlan {
  return planTraining(model, planSettings(config, model), devices);
}
