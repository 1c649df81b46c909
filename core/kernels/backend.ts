/** The raw kernels of a device: the one place that knows both backends. */
import { type Device, deviceOf, type OnDevice } from "../device.ts";
import { gpuBackend } from "../gpu/backend.ts";
import { wasmBackend } from "../wasm/backend.ts";
import type { Backend } from "./types.ts";

export function backendFor(device: Device): Backend {
  return device === "wasm" ? wasmBackend : gpuBackend;
}

/** The device all of an op's inputs share (DeviceMismatchError otherwise) and its kernels. */
export function kernelsOf(op: string, ...xs: (OnDevice | null | undefined)[]): { device: Device; k: Backend } {
  const device = deviceOf(op, ...xs);
  return { device, k: backendFor(device) };
}
