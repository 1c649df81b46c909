/** Named errors: each says what went wrong and how to fix it. The server maps them to HTTP in one onError. */

/** Base of every GASP-TS error: `name` is the subclass name, the message says what to do. */
export class GaspError extends Error {
  /**
   * Builds the error and its message.
   * @param message what went wrong and how to fix it
   */
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** An op got tensors whose shapes do not fit together. */
export class ShapeMismatchError extends GaspError {
  /**
   * Builds the error and its message.
   * @param op the op's name
   * @param detail the shapes given and expected
   */
  constructor(op: string, detail: string) {
    super(`${op}: shape mismatch: ${detail}`);
  }
}

/** WebGPU was asked for but no adapter exists; the message says how to get one or use WASM. */
export class NoGpuAdapterError extends GaspError {
  /**
   * Builds the error and its message.
   * @param detail why requesting an adapter failed, if known
   */
  constructor(detail = "") {
    super(
      "No WebGPU adapter is available" + (detail ? ` (${detail})` : "") + ". GASP-TS runs its kernels on WebGPU " +
        "or on the CPU: pass `--device wasm` (or `--device auto`, which picks WASM when there is no adapter). For " +
        "WebGPU use a machine with a GPU and a Vulkan/Metal/D3D12 driver, or install Mesa's software driver " +
        "(Debian: `apt-get install mesa-vulkan-drivers`, which provides the llvmpipe adapter) and run under Deno 2.x.",
    );
  }
}

/** The WebGPU device was lost mid-run (driver reset, out of memory). */
export class GpuDeviceLostError extends GaspError {
  /**
   * Builds the error and its message.
   * @param reason the device-lost reason the driver gave
   */
  constructor(reason: string) {
    super(`The WebGPU device was lost: ${reason}. Restart the process; if it repeats, reduce batch/sequence sizes.`);
  }
}

/** A configuration value or command-line flag is invalid; names where and what was expected. */
export class ConfigError extends GaspError {
  /**
   * Builds the error and its message.
   * @param where the config path, flag or file
   * @param detail what is wrong and what was expected
   */
  constructor(where: string, detail: string) {
    super(`Invalid config ${where}: ${detail}`);
  }
}

/** A data file does not hold what it should: names the file, the field and what was expected. */
export class DataFormatError extends GaspError {
  /**
   * Builds the error and its message.
   * @param file the file (or request) that was read
   * @param field the field within it
   * @param expected what the field should hold
   * @param detail what it held instead, when useful
   */
  constructor(
    readonly file: string,
    readonly field: string,
    readonly expected: string,
    detail = "",
  ) {
    super(`${file}: field ${field}: expected ${expected}${detail ? ` (${detail})` : ""}`);
  }
}

/** The inference queue is full; the client should retry after `retryAfterS` seconds (HTTP 429 + Retry-After). */
export class QueueFullError extends GaspError {
  /**
   * Builds the error and its message.
   * @param depth requests waiting
   * @param retryAfterS seconds the client should wait
   */
  constructor(readonly depth: number, readonly retryAfterS: number) {
    super(
      `The inference queue is full (${depth} waiting). Retry after ${retryAfterS} s, lower your concurrency, ` +
        "or start the server with a larger --max-queue.",
    );
  }
}

/** A generation ran past its per-request time limit and was cancelled (HTTP 504). */
export class GenerationTimeoutError extends GaspError {
  /**
   * Builds the error and its message.
   * @param timeoutMs the limit that was exceeded
   */
  constructor(readonly timeoutMs: number) {
    super(
      `The request did not finish within ${timeoutMs} ms and was cancelled. Ask for fewer tokens (max_tokens), ` +
        "send smaller images, or raise the server's --timeout-ms.",
    );
  }
}

/** The engine is not accepting work: still loading, or the server is shutting down (HTTP 503). */
export class EngineUnavailableError extends GaspError {
  /**
   * Builds the error and its message.
   * @param reason why the engine is not serving (loading, draining)
   */
  constructor(readonly reason: string) {
    super(`The inference engine is unavailable: ${reason}. Retry shortly; GET /healthz answers 200 once it is ready.`);
  }
}

/** The GPU adapter lacks a WebGPU feature an op needs (e.g. `shader-f16` for f16 casts). */
export class GpuFeatureMissingError extends GaspError {
  /**
   * Builds the error and its message.
   * @param feature the WebGPU feature name
   * @param what the op or dtype that needs it
   */
  constructor(readonly feature: string, what: string) {
    super(
      `${what} needs the WebGPU feature "${feature}", which this adapter does not offer. Keep tensors in f32 ` +
        "(every op supports it), or run on a GPU whose driver exposes the feature (Mesa llvmpipe does not).",
    );
  }
}

/** One op was given tensors on different devices (e.g. a WASM tensor and a WebGPU tensor). */
export class DeviceMismatchError extends GaspError {
  /**
   * Builds the error and its message.
   * @param op the op's name
   * @param detail the devices of its inputs
   */
  constructor(op: string, detail: string) {
    super(
      `${op}: tensors on different devices: ${detail}. Every input of an op must live on one device: create them ` +
        "under one `initDevice()` choice (or `withDevice`), or copy one over with `toDevice(t, device)`.",
    );
  }
}

/** A tensor was created before any device was initialised. */
export class NoDeviceError extends GaspError {
  /** Builds the error; its message says how to initialise a device. */
  constructor() {
    super(
      "No device is initialised: call `await initDevice()` (WASM or WebGPU, chosen as --device says) or " +
        "`await initGpu()` before creating tensors.",
    );
  }
}

/** A file-system operation failed (disk full, permission denied, …): says what was done to which path. */
export class IoError extends GaspError {
  /**
   * Builds the error and its message.
   * @param path the path
   * @param action what was being done ("write", "rename", …)
   * @param original the cause
   */
  constructor(readonly path: string, readonly action: string, readonly original: unknown) {
    super(`could not ${action} ${path}: ${original instanceof Error ? original.message : String(original)}`);
  }
}

/** Another live process holds the folder's lock (core/io/lock.ts): two runs never write into one folder. */
export class FolderLockedError extends GaspError {
  /**
   * Builds the error and its message.
   * @param dir the locked folder
   * @param lockFile its lock file
   * @param holderPid the holder's process id, when known
   * @param holder a description of the holder (command, host)
   */
  constructor(readonly dir: string, readonly lockFile: string, readonly holderPid: number | null, holder: string) {
    super(
      `${dir} is in use by another process (${holder}; lock ${lockFile}). Wait for it to finish or stop it ` +
        "(a lock left by a killed process is taken over by itself), or write somewhere else with --out.",
    );
  }
}

/**
 * A tensor does not fit one device buffer (WebGPU's maxStorageBufferBindingSize / maxBufferSize, or the WASM
 * device's 4 GiB memory): raised before anything is allocated, naming the tensor, its size and the limit.
 */
export class TensorTooLargeError extends GaspError {
  /** `where` names the device or limit, `hint` what to do instead, `scope` what had to fit ("in one buffer"). */
  constructor(
    readonly tensor: string,
    readonly bytes: number,
    readonly limit: number,
    where: string,
    hint: string,
    scope = "in one buffer",
  ) {
    super(`${tensor} needs ${formatBytes(bytes)} ${scope}, above ${where}'s limit of ${formatBytes(limit)}. ${hint}`);
  }
}

/** "1.34 GB (1342177280 bytes)": decimal units plus the exact count, for size errors. */
export function formatBytes(n: number): string {
  const units: [number, string][] = [[1e9, "GB"], [1e6, "MB"], [1e3, "kB"]];
  const [div, unit] = units.find(([d]) => n >= d) ?? [1, "B"];
  return div === 1 ? `${n} bytes` : `${(n / div).toFixed(2)} ${unit} (${n} bytes)`;
}

/** The prompt, or prompt plus requested completion, does not fit the model's context (HTTP 400). */
export class ContextLengthExceededError extends GaspError {
  /** `what` names the limit ("context length", "prompt length on this server (--max-prompt-tokens)"). */
  constructor(readonly promptTokens: number, readonly completionTokens: number, readonly limit: number, what: string) {
    super(
      `This model's maximum ${what} is ${limit} tokens. However, your messages resulted in ` +
        `${promptTokens + completionTokens} tokens (${promptTokens} in the messages` +
        (completionTokens ? `, ${completionTokens} in the completion` : "") +
        "). Please reduce the length of the messages or images, or ask for fewer tokens (max_tokens).",
    );
  }
}

/**
 * The engine failed to allocate memory for a request (onnxruntime `std::bad_alloc`, an ArrayBuffer allocation
 * failure). It recreates its session; retry after a moment (HTTP 503 with Retry-After).
 */
export class EngineOutOfMemoryError extends GaspError {
  /** `detail`: the allocator's own message (e.g. "std::bad_alloc"). */
  constructor(readonly detail: string) {
    super(
      `The inference engine ran out of memory on this request (${detail}); it is recreating its session. ` +
        "Retry shortly with a shorter prompt or fewer images.",
    );
  }
}
