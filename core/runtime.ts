/** The WebGPU tensor runtime in one import: context, tensors, autograd, ops. */
export { GpuContext, initGpu } from "./gpu/context.ts";
export type { GpuStats } from "./gpu/context.ts";
export { keep, shapeSize, Tensor, tidy, tidyAsync } from "./tensor.ts";
export type { DType, GradNode } from "./tensor.ts";
export { backward, checkpoint, isGradEnabled, noGrad, record, runBackward, zeroGrad } from "./autograd.ts";
export { Rng } from "./random.ts";
export * from "./ops/mod.ts";
