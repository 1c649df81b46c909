/**
 * Choosing and starting the device (`--device auto|wasm|webgpu`, `--threads N` on every task). `auto` takes WebGPU on
 * a hardware adapter and WASM when the only adapter is a software one (Mesa llvmpipe / lavapipe, SwiftShader) or
 * there is none: on this project's CPU machines the WASM kernels are several times faster than WebGPU on llvmpipe
 * (shared/reference/webgpu-on-llvmpipe.md). The choice and the reason are printed once.
 */
import { defaultDevice, type Device, hasDefaultDevice, setDefaultDevice } from "./device.ts";
import { GpuContext } from "./gpu/context.ts";
import { WasmRuntime } from "./wasm/runtime.ts";
import { kernelModule } from "./wasm/module.ts";
import { flag } from "./cli.ts";

export type DeviceChoice = Device | "auto";

export interface DeviceOptions {
  /** Default "auto"; without it, an already chosen device is kept. */
  device?: DeviceChoice;
  /** WASM threads (default: the available cores). */
  threads?: number;
  /** Where the choice is printed (default console.error; null: silent). */
  log?: ((line: string) => void) | null;
}

export interface DeviceInfo {
  device: Device;
  /** Why this device, e.g. "auto: llvmpipe is a software adapter -> wasm". */
  reason: string;
  /** What runs the kernels: the adapter, or the WASM threads and features. */
  detail: string;
}

let chosen: DeviceInfo | null = null;

/** Software rasterisers that expose a WebGPU adapter (CPU only). */
const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|software|microsoft basic render/i;

/** The adapter's description and whether it is a software (CPU) adapter; null when there is none. */
export async function probeAdapter(): Promise<{ description: string; software: boolean } | null> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" }).catch(() => null);
  if (!adapter) return null;
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const description = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(" ") ||
    "unknown adapter";
  return { description, software: !!info.isFallbackAdapter || SOFTWARE.test(description) };
}

function softwareName(description: string): string {
  return SOFTWARE.exec(description)?.[0].toLowerCase() ?? description;
}

/**
 * Initialise and select the device new tensors go to; prints the choice and why. Idempotent: without `device`,
 * a device already chosen (by an earlier call or initGpu) is kept.
 */
export async function initDevice(opts: DeviceOptions = {}): Promise<DeviceInfo> {
  const log = opts.log === undefined ? (l: string) => console.error(l) : opts.log;
  if (!opts.device && hasDefaultDevice()) {
    // Chosen earlier (an initDevice call, initGpu, or a withDevice scope): keep it.
    const device = defaultDevice();
    if (chosen?.device === device) return chosen;
    const detail = device === "wasm" ? wasmDetail(WasmRuntime.current()) : GpuContext.current().description;
    return { device, reason: "already chosen", detail };
  }
  const want = opts.device ?? "auto";
  let device: Device, reason: string;
  if (want === "auto") {
    const a = await probeAdapter();
    if (!a) [device, reason] = ["wasm", "auto: no WebGPU adapter -> wasm"];
    else if (a.software) {
      [device, reason] = ["wasm", `auto: ${softwareName(a.description)} is a software adapter -> wasm`];
    } else [device, reason] = ["webgpu", `auto: ${a.description} is a hardware adapter -> webgpu`];
  } else {
    [device, reason] = [want, `--device ${want}`];
  }
  let detail: string;
  if (device === "webgpu") {
    detail = (await GpuContext.get()).description;
  } else {
    const rt = await WasmRuntime.init(kernelModule, { threads: opts.threads });
    if (opts.threads !== undefined && rt.threads !== opts.threads) {
      reason += ` (threads stay ${rt.threads}: the WASM device was started earlier)`;
    }
    detail = wasmDetail(rt);
  }
  setDefaultDevice(device);
  chosen = { device, reason, detail };
  log?.(`device: ${device} (${reason}; ${detail})`);
  return chosen;
}

function wasmDetail(rt: WasmRuntime): string {
  return `${rt.threads} thread${rt.threads === 1 ? "" : "s"}, SIMD128${
    rt.features.relaxedSimd ? " + relaxed FMA" : ""
  }`;
}

/** Start the WASM device without making it the default (tests that run every op on both devices). */
export function initWasm(threads?: number): Promise<WasmRuntime> {
  return WasmRuntime.init(kernelModule, { threads });
}

/** The flags every task takes for its device (spread into a command's flags). */
export const deviceFlags = {
  device: flag.choice(
    ["auto", "wasm", "webgpu"] as const,
    "where kernels run: auto = WebGPU on a hardware GPU, WASM on a software adapter (llvmpipe) or none",
    { default: "auto" },
  ),
  threads: flag.int("WASM kernel threads (default: the available cores)", { min: 1 }),
};
