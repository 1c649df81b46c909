/**
 * Tensor: a shape, a dtype and storage on one device (a GPU buffer, or a range of the WASM device's shared memory;
 * shared by views through a ref-counted Storage), plus an optional gradient. Reading back is explicit
 * (`await t.toArray()`). Lifetime is explicit and cheap: tensors created inside `tidy(fn)` are disposed when it
 * returns (except what it returns); `keep(t)` opts out; `t.dispose()` frees now.
 *
 * Tensors are immutable for ops: no op writes into its inputs. Only optimiser kernels update parameters and their
 * state in place (and `write` replaces a parameter's contents from the host), so sharing storage between a tensor
 * and its views or gradients is safe.
 */
import { GpuContext } from "./gpu/context.ts";
import { WasmRuntime } from "./wasm/runtime.ts";
import { defaultDevice, type Device } from "./device.ts";
import { DeviceMismatchError, ShapeMismatchError, TensorTooLargeError } from "./errors.ts";
import type { Rng } from "./random.ts";
import { f16ToF32, f32ToF16 } from "./io/half.ts";

/** Storage types: f32 (compute), f16 (storage), i32/u32 (indices). */
export type DType = "f32" | "f16" | "i32" | "u32";
export type { Device };

export function bytesPerElement(dtype: DType): number {
  return dtype === "f16" ? 2 : 4;
}

/** Device memory with a reference count (views share it): a GPU buffer, or `ptr` into the WASM memory. */
export class Storage {
  /** Owners (the tensor and its views). */
  refs = 1;
  private constructor(
    readonly device: Device,
    readonly bytes: number,
    readonly gpuBuffer: GPUBuffer | null,
    readonly ptr: number,
  ) {}

  /** Fresh storage of `bytes` on `device`. */
  static allocate(device: Device, bytes: number): Storage {
    if (device === "wasm") return new Storage(device, bytes, null, WasmRuntime.current().heap.alloc(bytes));
    return new Storage(device, bytes, GpuContext.current().pool.acquire(bytes), -1);
  }

  /** One more owner. */
  retain(): this {
    this.refs++;
    return this;
  }

  /** One owner fewer; the last frees the memory (back to its pool). */
  release(): void {
    if (--this.refs !== 0) return;
    if (this.gpuBuffer) GpuContext.current().pool.release(this.gpuBuffer);
    else WasmRuntime.current().heap.free(this.ptr, this.bytes);
  }
}

/** How an op's result gets its gradients back to its inputs. */
export interface GradNode {
  /** The op's name (errors, debugging). */
  name: string;
  /** The op's tensor inputs. */
  inputs: Tensor[];
  /** Given dL/d(output), return dL/d(input) per input (null where the input needs none). */
  backward: (grad: Tensor) => (Tensor | null)[];
}

let nextId = 1;
const scopes: Set<Tensor>[] = [];

/** An n-dimensional array on one device (see the file comment). */
export class Tensor {
  /** Unique per process (debugging). */
  readonly id = nextId++;
  /** Row-major shape. */
  readonly shape: readonly number[];
  /** Number of elements. */
  readonly size: number;
  /** Whether backward computes a gradient for this tensor. */
  requiresGrad = false;
  /** The accumulated gradient of a leaf after backward. */
  grad: Tensor | null = null;
  /** How this op result gets gradients back to its inputs (null for leaves). */
  node: GradNode | null = null;
  /** A human label (parameter name) for errors and debugging. */
  name = "";
  #storage: Storage | null;

  /** A tensor over existing storage (ops use Tensor.empty / Tensor.from). */
  constructor(storage: Storage, shape: readonly number[], readonly dtype: DType = "f32") {
    this.#storage = storage;
    this.shape = Object.freeze([...shape]);
    this.size = shapeSize(shape);
    scopes[scopes.length - 1]?.add(this);
  }

  /**
   * A fresh tensor with uninitialised contents, on `device` (default: the default device). One that cannot be one
   * buffer of the device (maxBufferBytes) is a TensorTooLargeError before anything is allocated.
   */
  static empty(shape: readonly number[], dtype: DType = "f32", device: Device = defaultDevice()): Tensor {
    const bytes = Math.max(4, shapeSize(shape) * bytesPerElement(dtype));
    const limit = maxBufferBytes(device);
    if (bytes > limit) {
      throw new TensorTooLargeError(
        `a [${shape}] ${dtype} tensor`,
        bytes,
        limit,
        device === "webgpu" ? "the WebGPU adapter's storage binding (maxStorageBufferBindingSize)" : "wasm32 memory",
        "Large weights are split by rows when a model loads (core/model/device_weights.ts); an activation this " +
          "large needs a shorter input, fewer rows (e.g. logits only where the loss reads them) or --device wasm.",
      );
    }
    return new Tensor(Storage.allocate(device, bytes), shape, dtype);
  }

  /** Upload host data (to `opts.device`, default the default device). */
  static from(
    data: ArrayLike<number>,
    shape: readonly number[],
    opts: { dtype?: DType; requiresGrad?: boolean; name?: string; device?: Device } = {},
  ): Tensor {
    const dtype = opts.dtype ?? "f32";
    const n = shapeSize(shape);
    if (data.length !== n) {
      throw new ShapeMismatchError("Tensor.from", `${data.length} values for shape [${shape}] (${n} elements)`);
    }
    const t = Tensor.empty(shape, dtype, opts.device);
    if (n > 0) t.#upload(hostData(data, dtype));
    t.requiresGrad = opts.requiresGrad ?? false;
    t.name = opts.name ?? "";
    return t;
  }

  /** A 0-d tensor holding v. */
  static scalar(v: number): Tensor {
    return Tensor.from([v], []);
  }

  /** Zeros of `shape`. */
  static zeros(shape: readonly number[], opts: { requiresGrad?: boolean; name?: string } = {}): Tensor {
    return Tensor.from(new Float32Array(shapeSize(shape)), shape, opts);
  }

  /** `value` everywhere. */
  static full(shape: readonly number[], value: number, opts: { requiresGrad?: boolean } = {}): Tensor {
    return Tensor.from(new Float32Array(shapeSize(shape)).fill(value), shape, opts);
  }

  /** Normal(0, std²) entries from a seeded generator. */
  static randn(
    shape: readonly number[],
    rng: Rng,
    std = 1,
    opts: { requiresGrad?: boolean; name?: string } = {},
  ): Tensor {
    const d = new Float32Array(shapeSize(shape));
    for (let i = 0; i < d.length; i++) d[i] = rng.normal() * std;
    return Tensor.from(d, shape, opts);
  }

  /** A trainable leaf, kept out of tidy scopes. */
  static param(data: ArrayLike<number>, shape: readonly number[], name = ""): Tensor {
    return keep(Tensor.from(data, shape, { requiresGrad: true, name }));
  }

  /** The device memory (throws once disposed). */
  get storage(): Storage {
    if (!this.#storage) throw new Error(`tensor ${this.name || this.id} [${this.shape}] was disposed`);
    return this.#storage;
  }

  /** Where the storage lives. */
  get device(): Device {
    return this.storage.device;
  }

  /** The GPU buffer of a WebGPU tensor (WGSL kernels bind it). */
  get buffer(): GPUBuffer {
    const b = this.storage.gpuBuffer;
    if (!b) throw new DeviceMismatchError("Tensor.buffer", `${this} lives on the wasm device, not webgpu`);
    return b;
  }

  /** The byte offset of a WASM tensor in the WASM device's memory (WASM kernels take it). */
  get ptr(): number {
    const s = this.storage;
    if (s.device !== "wasm") {
      throw new DeviceMismatchError("Tensor.ptr", `${this} lives on the webgpu device, not wasm`);
    }
    return s.ptr;
  }

  /** Whether dispose() was called. */
  get disposed(): boolean {
    return this.#storage === null;
  }

  /** Number of axes. */
  get rank(): number {
    return this.shape.length;
  }

  /** A new tensor object sharing this one's storage (no copy). Shape must have the same size. */
  view(shape: readonly number[]): Tensor {
    if (shapeSize(shape) !== this.size) {
      throw new ShapeMismatchError("view", `cannot view [${this.shape}] as [${shape}]`);
    }
    return new Tensor(this.storage.retain(), shape, this.dtype);
  }

  /**
   * Replace the contents with host data, in place (restoring parameters or optimiser state; ops never write into
   * their inputs). Ordered after every op issued before it.
   */
  write(data: ArrayLike<number>): void {
    if (data.length !== this.size) {
      throw new ShapeMismatchError("Tensor.write", `${data.length} values for ${this} (${this.size} elements)`);
    }
    if (this.size > 0) this.#upload(hostData(data, this.dtype));
  }

  /**
   * Replace elements [offset, offset + n) with `raw`, n elements already in this tensor's storage format (f16 bits
   * for f16), in place: how a streamed parameter is loaded piece by piece. On WebGPU an f16 piece must start at an
   * even element (buffer writes are 4-byte aligned).
   */
  writeRaw(offset: number, raw: Float32Array | Uint16Array | Int32Array | Uint32Array): void {
    const bpe = bytesPerElement(this.dtype);
    if (raw.BYTES_PER_ELEMENT !== bpe || offset < 0 || offset + raw.length > this.size) {
      throw new ShapeMismatchError(
        "Tensor.writeRaw",
        `${raw.length} ${raw.BYTES_PER_ELEMENT}-byte elements at ${offset} into ${this} (${this.size} elements)`,
      );
    }
    if (raw.length === 0) return;
    const s = this.storage;
    if (s.gpuBuffer) {
      if ((offset * bpe) % 4 !== 0) throw new ShapeMismatchError("Tensor.writeRaw", `f16 offset ${offset} is odd`);
      GpuContext.current().write(s.gpuBuffer, padTo4(raw), offset * bpe);
    } else WasmRuntime.current().write(s.ptr + offset * bpe, raw);
  }

  #upload(host: ArrayBufferView): void {
    const s = this.storage;
    if (s.gpuBuffer) GpuContext.current().write(s.gpuBuffer, padTo4(host));
    else WasmRuntime.current().write(s.ptr, host);
  }

  async #download(bytes: number): Promise<ArrayBuffer> {
    const s = this.storage;
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    if (s.gpuBuffer) return await GpuContext.current().read(s.gpuBuffer, size);
    return WasmRuntime.current().read(s.ptr, size);
  }

  /** Read the contents back to the host. */
  async toArray(): Promise<Float32Array> {
    if (this.size === 0) return new Float32Array(0);
    const raw = await this.#download(this.size * bytesPerElement(this.dtype));
    if (this.dtype === "f32") return new Float32Array(raw, 0, this.size);
    if (this.dtype === "i32") return Float32Array.from(new Int32Array(raw, 0, this.size));
    if (this.dtype === "u32") return Float32Array.from(new Uint32Array(raw, 0, this.size));
    return fromF16Bits(new Uint16Array(raw, 0, this.size));
  }

  /** Integer contents (for i32/u32 tensors such as argmax results). */
  async toInt32Array(): Promise<Int32Array> {
    if (this.dtype !== "i32" && this.dtype !== "u32") return Int32Array.from(await this.toArray());
    if (this.size === 0) return new Int32Array(0);
    return new Int32Array(await this.#download(this.size * 4), 0, this.size);
  }

  /** The one element of a one-element tensor (a readback). */
  async item(): Promise<number> {
    if (this.size !== 1) throw new ShapeMismatchError("item", `expected one element, got [${this.shape}]`);
    return (await this.toArray())[0];
  }

  /** Free the storage now (views keep it alive). */
  dispose(): void {
    if (!this.#storage) return;
    this.#storage.release();
    this.#storage = null;
    this.node = null;
    for (const s of scopes) s.delete(this);
  }

  /** Name, shape, dtype and device, for messages. */
  toString(): string {
    const dev = this.#storage ? `, ${this.#storage.device}` : "";
    return `Tensor(${this.name ? this.name + ", " : ""}[${this.shape}], ${this.dtype}${dev})`;
  }
}

/**
 * The largest tensor one buffer of `device` holds, in bytes: on WebGPU the smaller of the adapter's
 * maxStorageBufferBindingSize and maxBufferSize (kernels bind whole buffers; llvmpipe: 128 MiB, wgpu on a GPU: up
 * to 2 GiB − 1 or more), on WASM the 4 GiB of wasm32 memory.
 */
export function maxBufferBytes(device: Device): number {
  if (device === "wasm") return 2 ** 32;
  const l = GpuContext.current().limits;
  return Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize);
}

/** Number of elements of a shape. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Remove a tensor from all scopes so it outlives them (parameters, optimiser state, grads). */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/** What tidy() may return: tensors, or arrays / plain objects / Maps of them, or plain values. */
export type Keepable =
  | Tensor
  | Keepable[]
  | { [k: string]: unknown }
  | number
  | string
  | boolean
  | null
  | undefined
  | void;

function collect(v: unknown, out: Set<Tensor>, depth = 0): void {
  if (depth > 4 || v === null || typeof v !== "object") return;
  if (v instanceof Tensor) out.add(v);
  else if (Array.isArray(v)) { for (const x of v) collect(x, out, depth + 1); }
  else if (v instanceof Map) { for (const x of v.values()) collect(x, out, depth + 1); }
  else if (Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v as Record<string, unknown>)) collect(x, out, depth + 1);
  }
}

function endScope(scope: Set<Tensor>, result: unknown): void {
  const survivors = new Set<Tensor>();
  collect(result, survivors);
  scopes.pop();
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (survivors.has(t)) parent?.add(t);
    else t.dispose();
  }
}

/**
 * Run `fn`, then dispose every tensor it created except those in its result (Tensor, arrays, Maps or plain objects
 * of them), which move to the enclosing scope.
 */
export function tidy<T extends Keepable | unknown>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    endScope(scope, null);
    throw e;
  }
  if (result instanceof Promise) throw new Error("tidy(fn): fn returned a Promise; use tidyAsync");
  endScope(scope, result);
  return result;
}

/** Async variant of tidy. Do not interleave two tidyAsync calls (scopes are a stack). */
export async function tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    endScope(scope, null);
    throw e;
  }
  endScope(scope, result);
  return result;
}

/** Host data as the typed array a dtype stores. */
function hostData(data: ArrayLike<number>, dtype: DType): ArrayBufferView {
  if (dtype === "f32") return data instanceof Float32Array ? data : Float32Array.from(data);
  if (dtype === "i32") return data instanceof Int32Array ? data : Int32Array.from(data);
  if (dtype === "u32") return data instanceof Uint32Array ? data : Uint32Array.from(data);
  return toF16Bits(data);
}

function padTo4(v: ArrayBufferView): ArrayBufferView {
  if (v.byteLength % 4 === 0) return v;
  const out = new Uint8Array(Math.ceil(v.byteLength / 4) * 4);
  out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  return out;
}

/** f32 → f16 bits, round to nearest, ties to even (as torch; the WASM cast kernel rounds the same way). */
export function toF16Bits(data: ArrayLike<number>): Uint16Array {
  return f32ToF16(data);
}

/** f16 bits → f32 (exact). */
export function fromF16Bits(bits: Uint16Array): Float32Array {
  return f16ToF32(bits);
}

/** A copy of `t` on `device` (through the host; the only way data crosses devices). */
export async function toDevice(t: Tensor, device: Device): Promise<Tensor> {
  if (t.device === device) return t.view(t.shape);
  const data = t.dtype === "i32" || t.dtype === "u32" ? await t.toInt32Array() : await t.toArray();
  const host = t.dtype === "u32" ? new Uint32Array(data.buffer, data.byteOffset, data.length) : data;
  return Tensor.from(host, t.shape, { dtype: t.dtype === "f16" ? "f16" : t.dtype, device, name: t.name });
}
