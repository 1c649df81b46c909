/**
 * The WASM device: one shared WebAssembly.Memory holding every WASM tensor (allocated by WasmHeap), one kernel
 * module compiled at startup from WAT generated in TypeScript (core/wasm/kernels, compiled with the npm `wabt`
 * package), and a pool of persistent Workers running the same module on the same memory.
 *
 * Kernel ABI: every kernel is `(func (param $p i32) (param $t0 i32) (param $t1 i32))`: it reads its parameters from
 * the i32 words at $p and runs tasks [t0, t1) of its work. Ops run one at a time and synchronously, so one parameter
 * block (at PARAMS) serves every call. A call whose work is below `threadThreshold` (waking and joining the workers
 * costs about 60 µs here, so about 5 MFLOP) runs on the calling thread alone.
 */
import { MAX_PAGES, WasmHeap } from "./heap.ts";
import { ThreadPool } from "./pool.ts";

/** Byte offset of the parameter block (256 words); allocations start at HEAP_BASE. */
export const PARAMS = 1024;
const PARAM_WORDS = 1024;
const HEAP_BASE = 65536;
/** Scratch bytes per thread (GEMM packing buffers, attention tiles). */
export const SCRATCH_BYTES = 4 << 20;

/** What the engine's WebAssembly offers beyond SIMD128. */
export interface WasmFeatures {
  /** f32x4.relaxed_madd is available (fused on x86 with FMA). */
  relaxedSimd: boolean;
}

/** A module's WAT text for a feature set. */
export type ModuleSource = (f: WasmFeatures) => string;

type Kernel = (p: number, t0: number, t1: number) => void;

const f32Scratch = new Float32Array(1);
const i32Scratch = new Int32Array(f32Scratch.buffer);

/** The i32 word holding f32 `x` (for float kernel parameters). */
export function f32Word(x: number): number {
  f32Scratch[0] = x;
  return i32Scratch[0];
}

/** Counters of the WASM device. */
export interface WasmStats {
  /** Heap ranges handed out and not yet freed. */
  live: number;
  /** Bytes of those ranges. */
  liveBytes: number;
  /** Freed ranges kept for reuse. */
  pooled: number;
  /** Bytes of the memory taken by the heap so far. */
  reservedBytes: number;
  /** Kernel calls so far. */
  calls: number;
  /** Calls split over the threads. */
  threadedCalls: number;
}

/** The WASM device: one shared memory, one kernel module, persistent worker threads (see the file comment). */
export class WasmRuntime {
  static #ready: WasmRuntime | null = null;
  static #starting: Promise<WasmRuntime> | null = null;

  /** The allocator of WASM tensors. */
  readonly heap: WasmHeap;
  /** Work units (≈ FLOPs) below which a call stays on the calling thread. */
  threadThreshold = 5e6;
  /** Kernel calls so far. */
  calls = 0;
  #kernels = new Map<string, { index: number; fn: Kernel }>();
  #pool: ThreadPool | null;
  #buffer: ArrayBufferLike | null = null;
  #f32: Float32Array<ArrayBufferLike> = new Float32Array(0);
  #i32: Int32Array<ArrayBufferLike> = new Int32Array(0);
  #u8: Uint8Array<ArrayBufferLike> = new Uint8Array(0);

  private constructor(
    readonly memory: WebAssembly.Memory,
    readonly features: WasmFeatures,
    heap: WasmHeap,
    instance: WebAssembly.Instance,
    module: WebAssembly.Module,
    pool: ThreadPool | null,
    readonly compileMs: number,
  ) {
    const ex = instance.exports as Record<string, unknown>;
    // Kernel indices are the module's function exports in declaration order (the workers number them alike).
    WebAssembly.Module.exports(module).filter((e) => e.kind === "function").forEach((e, index) => {
      this.#kernels.set(e.name, { index, fn: ex[e.name] as Kernel });
    });
    this.heap = heap;
    this.#pool = pool;
  }

  /** The process's WASM device, created on first call with `threads` threads (default: the available cores). */
  static init(source: ModuleSource, opts: { threads?: number } = {}): Promise<WasmRuntime> {
    if (WasmRuntime.#ready) return Promise.resolve(WasmRuntime.#ready);
    WasmRuntime.#starting ??= WasmRuntime.#create(source, opts.threads ?? navigator.hardwareConcurrency ?? 1)
      .then((r) => (WasmRuntime.#ready = r))
      .catch((e) => {
        WasmRuntime.#starting = null;
        throw e;
      });
    return WasmRuntime.#starting;
  }

  /** Whether the device was initialised. */
  static get ready(): boolean {
    return WasmRuntime.#ready !== null;
  }

  /** The initialised runtime (ops call this). */
  static current(): WasmRuntime {
    if (!WasmRuntime.#ready) {
      throw new Error('the WASM device was not initialised: call `await initDevice({ device: "wasm" })` first');
    }
    return WasmRuntime.#ready;
  }

  static async #create(source: ModuleSource, threads: number): Promise<WasmRuntime> {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be ≥ 1, got ${threads}`);
    const t0 = performance.now();
    const { default: wabtInit } = await import("wabt");
    const wabt = await wabtInit();
    const compile = (wat: string, relaxed: boolean): Uint8Array<ArrayBuffer> => {
      // wabt's validate() rejects shared memories; V8 validates the binary when compiling it.
      const parsed = wabt.parseWat("kernels.wat", wat, { simd: true, threads: true, relaxed_simd: relaxed });
      try {
        return parsed.toBinary({}).buffer as Uint8Array<ArrayBuffer>;
      } finally {
        parsed.destroy();
      }
    };
    const features: WasmFeatures = { relaxedSimd: WebAssembly.validate(compile(RELAXED_PROBE, true)) };
    const module = await WebAssembly.compile(compile(source(features), features.relaxedSimd));
    const compileMs = performance.now() - t0;
    const memory = new WebAssembly.Memory({ initial: 256, maximum: MAX_PAGES, shared: true });
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const heap = new WasmHeap(memory, HEAP_BASE);
    const scratch = Array.from({ length: threads }, () => heap.alloc(SCRATCH_BYTES));
    heap.live = heap.liveBytes = 0; // the scratch ranges are the runtime's, not tensors
    (instance.exports.set_scratch as (p: number) => void)(scratch[0]);
    const pool = threads > 1 ? await ThreadPool.start(module, memory, scratch.slice(1)) : null;
    return new WasmRuntime(memory, features, heap, instance, module, pool, compileMs);
  }

  /** Threads running kernels (the caller included). */
  get threads(): number {
    return this.#pool?.threads ?? 1;
  }

  #refresh(): void {
    const b = this.memory.buffer;
    if (b !== this.#buffer || this.#f32.buffer.byteLength !== b.byteLength) {
      this.#buffer = b;
      this.#f32 = new Float32Array(b);
      this.#i32 = new Int32Array(b);
      this.#u8 = new Uint8Array(b);
    }
  }

  /** Views of the whole memory (re-made when the memory grows). */
  get f32(): Float32Array<ArrayBufferLike> {
    this.#refresh();
    return this.#f32;
  }
  /** The memory as i32 words. */
  get i32(): Int32Array<ArrayBufferLike> {
    this.#refresh();
    return this.#i32;
  }
  /** The memory as bytes. */
  get u8(): Uint8Array<ArrayBufferLike> {
    this.#refresh();
    return this.#u8;
  }

  /** Copy host bytes into the memory at `ptr`. */
  write(ptr: number, data: ArrayBufferView): void {
    this.u8.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), ptr);
  }

  /** A copy of `bytes` bytes at `ptr`. */
  read(ptr: number, bytes: number): ArrayBuffer {
    const out = new ArrayBuffer(bytes);
    new Uint8Array(out).set(this.u8.subarray(ptr, ptr + bytes));
    return out;
  }

  /** Whether the module has a kernel of that name. */
  has(kernel: string): boolean {
    return this.#kernels.has(kernel);
  }

  /**
   * Run `tasks` tasks of `kernel` with i32 parameter words `params` (floats via f32Word). `work` (≈ FLOPs or bytes
   * moved) decides whether the call is worth waking the other threads.
   */
  run(kernel: string, params: ArrayLike<number>, tasks: number, work: number): void {
    const k = this.#kernels.get(kernel);
    if (!k) throw new Error(`no WASM kernel "${kernel}"`);
    if (params.length > PARAM_WORDS) throw new RangeError(`${kernel}: ${params.length} parameter words`);
    if (tasks <= 0) return;
    this.i32.set(params, PARAMS / 4);
    this.calls++;
    if (this.#pool && tasks > 1 && work >= this.threadThreshold) this.#pool.run(k.index, PARAMS, tasks, k.fn);
    else k.fn(PARAMS, 0, tasks);
  }

  /** Current counters. */
  stats(): WasmStats {
    return {
      live: this.heap.live,
      liveBytes: this.heap.liveBytes,
      pooled: this.heap.pooled,
      reservedBytes: this.heap.reserved,
      calls: this.calls,
      threadedCalls: this.#pool?.jobs ?? 0,
    };
  }
}

/** A module using f32x4.relaxed_madd: V8 accepts it only where relaxed SIMD is on. */
const RELAXED_PROBE = `(module (func (export "f") (param v128) (result v128)
  (f32x4.relaxed_madd (local.get 0) (local.get 0) (local.get 0))))`;
