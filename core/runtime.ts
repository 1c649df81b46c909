/** The tensor runtime in one import: devices (WebGPU and WASM), tensors, autograd, ops. */
export { GpuContext, initGpu } from "./gpu/context.ts";
export type { GpuStats } from "./gpu/context.ts";
export { WasmRuntime } from "./wasm/runtime.ts";
export type { WasmStats } from "./wasm/runtime.ts";
export { defaultDevice, type Device, deviceOf, DEVICES, withDevice } from "./device.ts";
export { keep, shapeSize, Tensor, tidy, tidyAsync, toDevice } from "./tensor.ts";
export type { DType, GradNode } from "./tensor.ts";
export { backward, checkpoint, isGradEnabled, noGrad, record, runBackward, zeroGrad } from "./autograd.ts";
export { Rng } from "./random.ts";
export * from "./ops/mod.ts";
