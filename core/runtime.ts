/** The tensor runtime in one import: devices (WebGPU and WASM), tensors, autograd, ops. */
export { GpuContext, initGpu } from "./gpu/context.ts";
export type { GpuStats } from "./gpu/context.ts";
export type { BufferPool } from "./gpu/buffer_pool.ts";
export { WasmRuntime } from "./wasm/runtime.ts";
export type { WasmFeatures, WasmStats } from "./wasm/runtime.ts";
export type { WasmHeap } from "./wasm/heap.ts";
export { defaultDevice, type Device, deviceOf, DEVICES, type OnDevice, withDevice } from "./device.ts";
export { keep, shapeSize, Tensor, tidy, tidyAsync, toDevice } from "./tensor.ts";
export type { DType, GradNode, Keepable, Storage } from "./tensor.ts";
export { backward, checkpoint, isGradEnabled, noGrad, record, runBackward, zeroGrad } from "./autograd.ts";
export { Rng, type RngState } from "./random.ts";
export { UNARY_NAMES } from "./kernels/types.ts";
export type { AttentionPlan } from "./kernels/types.ts";
export type { AttentionDims } from "./kernels/attention.ts";
export * from "./ops/mod.ts";
