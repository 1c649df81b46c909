/**
 * GpuContext: one per process. Owns the adapter and device (requested with the limits the adapter allows),
 * a buffer pool, a pipeline cache keyed by (op, dtype, shape class), and a batched command encoder.
 *
 * Batching: dispatches are recorded into one command encoder and submitted at a readback, before any
 * queue.writeBuffer (so writes can't overtake recorded reads of a recycled buffer), or every `maxBatch` dispatches.
 * Uniforms are written with mappedAtCreation, which involves no queue operation, so they need no flush.
 */
import { GpuDeviceLostError, NoGpuAdapterError } from "../errors.ts";
import { BufferPool } from "./buffer_pool.ts";
import { hasDefaultDevice, setDefaultDevice } from "../device.ts";

/** Counters of the GPU context (buffers, pipelines, dispatches). */
export interface GpuStats {
  /** GPU buffers handed out and not yet released. */
  liveBuffers: number;
  /** Bytes of those buffers. */
  liveBytes: number;
  /** Released buffers kept for reuse. */
  pooledBuffers: number;
  /** Compiled compute pipelines. */
  pipelines: number;
  /** Dispatches recorded so far. */
  dispatches: number;
  /** Command buffers submitted so far. */
  submits: number;
}

/** The process's WebGPU device: adapter, device, buffer pool, pipeline cache, batched command encoder. */
export class GpuContext {
  static #instance: Promise<GpuContext> | null = null;
  static #ready: GpuContext | null = null;

  /** Storage buffers by size class (reused across steps). */
  readonly pool: BufferPool;
  /** Whether the adapter has `shader-f16`. */
  readonly hasF16: boolean;
  /** Whether the adapter has `timestamp-query` (profiling). */
  readonly hasTimestamps: boolean;
  /** The adapter, in words (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"). */
  readonly description: string;
  #pipelines = new Map<string, GPUComputePipeline>();
  #encoder: GPUCommandEncoder | null = null;
  #pendingDispatches = 0;
  #transient: GPUBuffer[] = [];
  #lostReason: string | null = null;
  #validationError: string | null = null;
  /** Dispatches recorded so far. */
  dispatches = 0;
  /** Command buffers submitted so far. */
  submits = 0;
  /** Dispatches recorded before an automatic submit. */
  maxBatch = 128;

  private constructor(readonly adapter: GPUAdapter, readonly device: GPUDevice) {
    this.pool = new BufferPool(device);
    this.hasF16 = device.features.has("shader-f16");
    this.hasTimestamps = device.features.has("timestamp-query");
    const info = adapter.info;
    this.description = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(" ");
    device.lost.then((l) => {
      this.#lostReason = `${l.reason}: ${l.message}`;
    });
    device.addEventListener("uncapturederror", (e) => {
      const msg = (e as GPUUncapturedErrorEvent).error.message;
      this.#validationError ??= msg;
      console.error(`WebGPU error: ${msg}`);
    });
  }

  /** The process's context, created on first call. Fails fast with NoGpuAdapterError. */
  static get(): Promise<GpuContext> {
    if (!GpuContext.#instance) {
      GpuContext.#instance = GpuContext.#create().then((c) => (GpuContext.#ready = c)).catch((e) => {
        GpuContext.#instance = null;
        throw e;
      });
    }
    return GpuContext.#instance;
  }

  /** The already-initialised context (ops call this; `await initGpu()` once at startup). */
  static current(): GpuContext {
    if (!GpuContext.#ready) {
      throw new NoGpuAdapterError("the GPU context was not initialised: call `await initGpu()` before using tensors");
    }
    return GpuContext.#ready;
  }

  static async #create(): Promise<GpuContext> {
    const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
    if (!gpu) throw new NoGpuAdapterError("navigator.gpu is missing in this runtime");
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) throw new NoGpuAdapterError("navigator.gpu.requestAdapter() returned null");
    const features: GPUFeatureName[] = [];
    for (const f of ["shader-f16", "timestamp-query"] as GPUFeatureName[]) {
      if (adapter.features.has(f)) features.push(f);
    }
    // Ask for everything the adapter allows: defaults (e.g. 16 KiB workgroup memory) are lower than llvmpipe's.
    const requiredLimits: Record<string, number> = {};
    const keys = [
      "maxStorageBufferBindingSize",
      "maxBufferSize",
      "maxComputeWorkgroupStorageSize",
      "maxComputeInvocationsPerWorkgroup",
      "maxComputeWorkgroupSizeX",
      "maxComputeWorkgroupSizeY",
      "maxComputeWorkgroupSizeZ",
      "maxComputeWorkgroupsPerDimension",
      "maxStorageBuffersPerShaderStage",
    ] as const;
    for (const k of keys) requiredLimits[k] = adapter.limits[k];
    const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits });
    return new GpuContext(adapter, device);
  }

  /** The device's limits (as requested: the adapter's own). */
  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** Throws if the device was lost (so callers get an error rather than a hang). */
  checkAlive(): void {
    if (this.#lostReason) throw new GpuDeviceLostError(this.#lostReason);
    if (this.#validationError) {
      const msg = this.#validationError;
      this.#validationError = null;
      throw new Error(`WebGPU validation error (a kernel or its bindings are wrong): ${msg}`);
    }
  }

  /** Cached compute pipeline; `key` must identify the WGSL source (op, dtype, shape class). */
  pipeline(key: string, code: () => string): GPUComputePipeline {
    let p = this.#pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: code(), label: key });
      p = this.device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" }, label: key });
      this.#pipelines.set(key, p);
    }
    return p;
  }

  /** A uniform buffer holding `data`, freed after the next submit. */
  uniform(data: ArrayBuffer): GPUBuffer {
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    const buf = this.device.createBuffer({ size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
    new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data));
    buf.unmap();
    this.#transient.push(buf);
    return buf;
  }

  /** Record one compute dispatch. `buffers` bind to @binding(0..n-1) in order; `uniform` (if any) binds last. */
  dispatch(
    pipeline: GPUComputePipeline,
    buffers: GPUBuffer[],
    uniform: ArrayBuffer | null,
    workgroups: [number, number?, number?],
  ): void {
    this.checkAlive();
    const entries: GPUBindGroupEntry[] = buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
    if (uniform) entries.push({ binding: buffers.length, resource: { buffer: this.uniform(uniform) } });
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    this.#encoder ??= this.device.createCommandEncoder();
    const pass = this.#encoder.beginComputePass(this.#timestampWrites(pipeline.label));
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1] ?? 1, workgroups[2] ?? 1);
    pass.end();
    this.dispatches++;
    if (++this.#pendingDispatches >= this.maxBatch) this.flush();
  }

  /** Record a buffer-to-buffer copy in order with the dispatches. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.#encoder ??= this.device.createCommandEncoder();
    this.#encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
    if (++this.#pendingDispatches >= this.maxBatch) this.flush();
  }

  /** Submit everything recorded so far. */
  flush(): void {
    if (this.#encoder) {
      this.device.queue.submit([this.#encoder.finish()]);
      this.#encoder = null;
      this.#pendingDispatches = 0;
      this.submits++;
    }
    if (this.#transient.length) {
      const old = this.#transient;
      this.#transient = [];
      // Destroy after the GPU is done with them.
      this.device.queue.onSubmittedWorkDone().then(() => old.forEach((b) => b.destroy()));
    }
  }

  /** Write host data into a buffer, ordered after everything recorded so far. */
  write(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    this.flush();
    this.device.queue.writeBuffer(buffer, offset, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  }

  /** Read `size` bytes of a buffer back to the host (submits pending work). */
  async read(buffer: GPUBuffer, size: number, offset = 0): Promise<ArrayBuffer> {
    this.checkAlive();
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    this.#encoder ??= this.device.createCommandEncoder();
    this.#encoder.copyBufferToBuffer(buffer, offset, staging, 0, size);
    this.flush();
    const lost = this.device.lost.then((l) => {
      throw new GpuDeviceLostError(`${l.reason}: ${l.message}`);
    });
    await Promise.race([staging.mapAsync(GPUMapMode.READ), lost]);
    this.checkAlive();
    const out = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    return out;
  }

  /** Wait until the GPU has finished all submitted work (for benchmarks). */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
  }

  // ---- Profiling with timestamp queries (only where the adapter has "timestamp-query") ----
  #profile: { set: GPUQuerySet; labels: string[]; capacity: number; results: [string, number][] } | null = null;

  /** Record per-dispatch GPU time for up to `capacity` dispatches (WebGPU caps a query set at 4096 queries = 2 per
   * dispatch). No-op without timestamp-query; returns whether profiling is on. */
  startProfiling(capacity = 2048): boolean {
    if (!this.hasTimestamps) return false;
    this.flush();
    this.#profile = {
      set: this.device.createQuerySet({ type: "timestamp", count: capacity * 2 }),
      labels: [],
      capacity,
      results: [],
    };
    return true;
  }

  #timestampWrites(label: string): GPUComputePassDescriptor | undefined {
    const p = this.#profile;
    if (!p || p.labels.length >= p.capacity) return undefined;
    const i = p.labels.push(label) - 1;
    return { timestampWrites: { querySet: p.set, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } };
  }

  /** Stop profiling and return GPU milliseconds per pipeline label, summed, largest first. */
  async stopProfiling(): Promise<{ label: string; ms: number; count: number }[]> {
    const p = this.#profile;
    this.#profile = null;
    if (!p || p.labels.length === 0) return [];
    const n = p.labels.length * 2;
    const resolve = this.device.createBuffer({
      size: n * 8,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    this.#encoder ??= this.device.createCommandEncoder();
    this.#encoder.resolveQuerySet(p.set, 0, n, resolve, 0);
    const raw = new BigUint64Array(await this.read(resolve, n * 8));
    resolve.destroy();
    p.set.destroy();
    const sums = new Map<string, { ms: number; count: number }>();
    p.labels.forEach((label, i) => {
      const ms = Number(raw[2 * i + 1] - raw[2 * i]) / 1e6;
      const e = sums.get(label) ?? { ms: 0, count: 0 };
      e.ms += ms;
      e.count++;
      sums.set(label, e);
    });
    return [...sums].map(([label, e]) => ({ label, ...e })).sort((a, b) => b.ms - a.ms);
  }

  /** Current counters. */
  stats(): GpuStats {
    return {
      liveBuffers: this.pool.live,
      liveBytes: this.pool.liveBytes,
      pooledBuffers: this.pool.pooled,
      pipelines: this.#pipelines.size,
      dispatches: this.dispatches,
      submits: this.submits,
    };
  }
}

/**
 * Initialise the process's GPU context (idempotent). If no default device was chosen yet (core/device.ts), WebGPU
 * becomes the default, so code written before the WASM device keeps creating its tensors on the GPU.
 */
export async function initGpu(): Promise<GpuContext> {
  const ctx = await GpuContext.get();
  if (!hasDefaultDevice()) setDefaultDevice("webgpu");
  return ctx;
}
