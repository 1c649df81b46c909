/**
 * Devices: where a tensor's storage lives and where its kernels run.
 *  - "webgpu": a GPUBuffer of the process's GpuContext, WGSL kernels (core/gpu);
 *  - "wasm": an allocation in the process's one shared WebAssembly.Memory, SIMD128 kernels run by persistent
 *    Workers (core/wasm).
 * New tensors go to the default device (chosen once by `initDevice`, or switched for a scope with `withDevice`);
 * an op's result lives on its inputs' device, and inputs on two devices are a DeviceMismatchError.
 */
import { DeviceMismatchError, NoDeviceError } from "./errors.ts";

/** The two devices: WebGPU, or the WASM SIMD128 kernels on the CPU. */
export type Device = "webgpu" | "wasm";
/** Every device, in the order tests run them. */
export const DEVICES: readonly Device[] = ["webgpu", "wasm"];

/** Anything with a device (a Tensor); kept structural so this module imports nothing above it. */
export interface OnDevice {
  /** Where the tensor lives. */
  readonly device: Device;
  /** Its shape (for messages). */
  readonly shape: readonly number[];
  /** Its name (for messages). */
  readonly name: string;
}

let current: Device | null = null;

/** The device new tensors are created on. */
export function defaultDevice(): Device {
  if (!current) throw new NoDeviceError();
  return current;
}

/** Whether a default device has been chosen. */
export function hasDefaultDevice(): boolean {
  return current !== null;
}

/** Make `d` the default device (its runtime must be initialised: see core/device_init.ts). */
export function setDefaultDevice(d: Device): void {
  current = d;
}

/**
 * Run fn with `d` as the default device, then restore the previous default (after the promise settles when fn is
 * async). Do not interleave two async withDevice calls.
 */
export function withDevice<T>(d: Device, fn: () => T): T {
  const prev = current;
  current = d;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    current = prev;
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => (current = prev)) as T;
  }
  current = prev;
  return result;
}

/** The one device all of an op's tensor inputs live on (nulls skipped); DeviceMismatchError if they differ. */
export function deviceOf(op: string, ...xs: (OnDevice | null | undefined)[]): Device {
  let d: Device | null = null;
  let first: OnDevice | null = null;
  for (const x of xs) {
    if (!x) continue;
    if (d === null) {
      d = x.device;
      first = x;
    } else if (x.device !== d) {
      const label = (t: OnDevice) => `${t.name || "tensor"} [${t.shape}] on ${t.device}`;
      throw new DeviceMismatchError(op, `${label(first!)} and ${label(x)}`);
    }
  }
  return d ?? defaultDevice();
}
