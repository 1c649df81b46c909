/**
 * A model's parameters streamed from a WeightReader straight into device memory, tensor by tensor and row chunk by
 * row chunk: the host holds one chunk (≤ 4 M elements) of one tensor at a time, never the model.
 *
 * Storage (`dtype`): "f32", or "f16" for every matrix (rank ≥ 2, the frozen base's linear weights and embeddings;
 * the GEMM and the embedding gather widen them to f32, compute and accumulation stay f32), with 1-D tensors (biases,
 * norm gains) kept f32. BF16/F16/F32 checkpoints convert on load (round to nearest even); a value beyond f16's range
 * (±65504) is an error naming the tensor, never a silent Inf. f16 parameters are frozen: trainable ones stay f32.
 *
 * Sizes are planned before anything is allocated. A tensor above one device buffer (core/tensor.ts maxBufferBytes:
 * llvmpipe's 128 MiB binding, wgpu's 2 GiB − 1) is stored as row blocks when it is the embedding or the LM head
 * (RowBlocks; VlmModel gathers and projects block by block); any other tensor that large, or weights beyond the WASM
 * device's 4 GiB, is a TensorTooLargeError naming the tensor, its size and the limit.
 */
import { bytesPerElement, type Device, keep, maxBufferBytes, shapeSize, Tensor } from "../tensor.ts";
import { defaultDevice } from "../device.ts";
import { ConfigError, DataFormatError, TensorTooLargeError } from "../errors.ts";
import { f32ToF16 } from "../io/half.ts";
import type { WeightReader } from "./weight_reader.ts";
import type { StoredDType } from "../io/safetensors_stream.ts";

/** Storage precision of a weight on the device. */
export type WeightDType = "f32" | "f16";

/** Parameters that may be stored as row blocks (vocabulary-sized matrices, read by row or projected per block). */
export const ROW_SPLIT_PARAMS: ReadonlySet<string> = new Set(["model.embed_tokens.weight", "lm_head.weight"]);

/** Elements per host chunk while streaming (16 MiB of f32). */
const CHUNK_ELEMS = 4 << 20;

/** A (rows, cols) parameter stored as consecutive row blocks, each its own device buffer. */
export interface RowBlocks {
  name: string;
  shape: [number, number];
  dtype: WeightDType;
  blocks: Tensor[];
  /** First row of each block (ascending, starts[0] = 0). */
  starts: number[];
}

export interface DeviceWeights {
  params: Map<string, Tensor>;
  rowBlocks: Map<string, RowBlocks>;
  /** Device bytes of all parameters. */
  bytes: number;
}

export interface LoadWeightsOptions {
  dtype: WeightDType;
  /** Default: the default device. */
  device?: Device;
  /** Parameters get requiresGrad (all f32 then: f16 storage is for frozen weights). */
  trainable?: boolean;
  /** Largest buffer to plan for (default maxBufferBytes(device); tests lower it). */
  maxBytes?: number;
}

/** How one parameter will be stored. */
export interface ParamPlan {
  name: string;
  shape: number[];
  dtype: WeightDType;
  bytes: number;
  /** Rows per block when stored as row blocks, else null. */
  blockRows: number | null;
}

/** Storage of every parameter (no allocation); throws TensorTooLargeError for what cannot be stored. */
export function planDeviceWeights(
  shapes: Map<string, number[]>,
  o: { dtype: WeightDType; trainable?: boolean; device: Device; maxBytes?: number },
): ParamPlan[] {
  if (o.trainable && o.dtype === "f16") {
    throw new ConfigError("dtype", "f16 storage is for frozen weights; trainable parameters are f32 (use dtype f32)");
  }
  const limit = o.maxBytes ?? maxBufferBytes(o.device);
  const where = o.device === "webgpu"
    ? "the WebGPU adapter's storage binding (maxStorageBufferBindingSize)"
    : "the WASM device";
  const plans: ParamPlan[] = [];
  let total = 0;
  for (const [name, shape] of shapes) {
    const dtype: WeightDType = o.dtype === "f16" && shape.length >= 2 ? "f16" : "f32";
    const bpe = bytesPerElement(dtype), bytes = shapeSize(shape) * bpe;
    let blockRows: number | null = null;
    if (bytes > limit) {
      const cols = shapeSize(shape.slice(1));
      // Whole rows per block; an even count keeps f16 blocks 4-byte aligned for buffer writes.
      const rows = Math.floor(limit / (cols * bpe)) & ~1;
      if (!ROW_SPLIT_PARAMS.has(name) || shape.length !== 2 || rows < 2) {
        throw new TensorTooLargeError(
          `parameter ${name} [${shape}] (${dtype})`,
          bytes,
          limit,
          where,
          dtype === "f32" && shape.length >= 2
            ? "Store the weights in f16 (--dtype f16), or use a device with larger buffers."
            : "Use a device with larger buffers.",
        );
      }
      blockRows = rows;
    }
    total += bytes;
    plans.push({ name, shape: [...shape], dtype, bytes, blockRows });
  }
  if (o.device === "wasm" && total > 2 ** 32 - 2 ** 28) {
    throw new TensorTooLargeError(
      `the model's weights (${plans.length} tensors, ${o.dtype})`,
      total,
      2 ** 32,
      "wasm32 memory",
      o.dtype === "f32"
        ? "Activations need room too: store the frozen weights in f16 (--dtype f16), or use --device webgpu."
        : "Use --device webgpu on a GPU, or a smaller model.",
      "in total",
    );
  }
  return plans;
}

/** Streams every parameter of `reader` onto the device as planned (see the file comment). */
export async function loadDeviceWeights(reader: WeightReader, o: LoadWeightsOptions): Promise<DeviceWeights> {
  const device = o.device ?? defaultDevice();
  const plans = planDeviceWeights(reader.shapes, { ...o, device });
  const params = new Map<string, Tensor>(), rowBlocks = new Map<string, RowBlocks>();
  let bytes = 0;
  try {
    for (const p of plans) {
      const rows = p.shape[0], cols = shapeSize(p.shape.slice(1));
      const blockRows = p.blockRows ?? rows;
      const blocks: Tensor[] = [], starts: number[] = [];
      for (let r = 0; r < Math.max(rows, 1); r += blockRows) {
        const n = Math.min(blockRows, rows - r);
        const shape = p.blockRows ? [n, cols] : p.shape;
        const t = keep(Tensor.empty(shape, p.dtype, device));
        t.name = p.blockRows ? `${p.name}[rows ${r}:${r + n}]` : p.name;
        blocks.push(t);
        starts.push(r);
      }
      await streamInto(reader, p, blocks, starts, cols);
      if (p.blockRows) {
        rowBlocks.set(p.name, { name: p.name, shape: [rows, cols], dtype: p.dtype, blocks, starts });
      } else {
        const t = blocks[0];
        t.requiresGrad = o.trainable ?? false;
        params.set(p.name, t);
      }
      bytes += p.bytes;
    }
  } catch (e) {
    for (const t of params.values()) t.dispose();
    for (const rb of rowBlocks.values()) rb.blocks.forEach((t) => t.dispose());
    throw e;
  }
  return { params, rowBlocks, bytes };
}

/** One parameter's chunks into its block(s), converted to the storage dtype on the way. */
async function streamInto(
  reader: WeightReader,
  p: ParamPlan,
  blocks: Tensor[],
  starts: number[],
  cols: number,
): Promise<void> {
  // Chunks of whole rows, an even number of elements (f16 pieces must start at even elements on WebGPU).
  let chunkRows = Math.max(1, Math.floor(CHUNK_ELEMS / Math.max(1, cols)));
  if ((chunkRows * cols) % 2) chunkRows = chunkRows === 1 ? 2 : chunkRows - 1;
  const f16 = p.dtype === "f16" ? new Uint16Array(chunkRows * cols) : null;
  let expected = 0;
  for await (const c of reader.chunks(p.name, chunkRows * cols)) {
    if (c.offset !== expected || c.values.length > chunkRows * cols) {
      throw new Error(
        `${p.name}: reader gave ${c.values.length} values at ${c.offset}, asked for ≤ ${
          chunkRows * cols
        } at ${expected}`,
      );
    }
    expected += c.values.length;
    const raw = f16 ? toF16Checked(c.values, f16.subarray(0, c.values.length), p.name, c.offset) : c.values;
    // Split the chunk at block boundaries (blocks hold whole rows).
    let done = 0;
    while (done < raw.length) {
      const at = c.offset + done, row = Math.floor(at / cols);
      let b = starts.length - 1;
      while (starts[b] > row) b--;
      const blockEnd = (b + 1 < starts.length ? starts[b + 1] : p.shape[0]) * cols;
      const n = Math.min(raw.length - done, blockEnd - at);
      blocks[b].writeRaw(at - starts[b] * cols, raw.subarray(done, done + n));
      done += n;
    }
  }
  if (expected !== shapeSize(p.shape)) {
    throw new DataFormatError(p.name, "(values)", `${shapeSize(p.shape)} values for [${p.shape}]`, `got ${expected}`);
  }
}

/** f32 → f16 bits (ties to even); a finite value that overflows to ±Inf is an error naming the tensor. */
function toF16Checked(x: Float32Array, out: Uint16Array<ArrayBuffer>, name: string, offset: number): Uint16Array {
  f32ToF16(x, out);
  for (let i = 0; i < out.length; i++) {
    if ((out[i] & 0x7c00) === 0x7c00 && Number.isFinite(x[i])) {
      throw new ConfigError(
        "dtype",
        `${name} element ${offset + i} is ${x[i]}, beyond f16's range (±65504): load this model with --dtype f32`,
      );
    }
  }
  return out;
}

/**
 * The storage of a frozen base's matrices for a config's `dtype`: "auto" keeps a 16-bit checkpoint 16-bit (F16 as
 * is, BF16 converted to f16: half the memory of f32; a bf16 value of magnitude in [2^-14, 65504] is exact in f16,
 * smaller ones round to f16 subnormals) and an F32 one f32 (our own trained folders, whose runs are pinned in f32).
 */
export function resolveWeightDType(want: "auto" | WeightDType, stored: StoredDType): WeightDType {
  if (want !== "auto") return want;
  return stored === "F16" || stored === "BF16" ? "f16" : "f32";
}
