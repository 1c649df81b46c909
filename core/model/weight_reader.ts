/**
 * A model's weights read on demand, tensor by tensor, under our (HF original-layout) parameter names: an HF folder's
 * safetensors streamed from disk (core/model/hf_weights.ts), or weights already in host memory. Loading a model onto
 * a device (core/model/device_weights.ts) consumes one tensor at a time in row chunks, so the host never holds more
 * than a chunk of a model it streams.
 */
import type { StoredDType } from "../io/safetensors_stream.ts";
import type { Weights } from "./init.ts";

/** One piece of a tensor: elements [offset, offset + values.length) as f32 (valid until the next piece). */
export interface WeightChunk {
  offset: number;
  values: Float32Array;
}

export interface WeightReader {
  /** Parameter names, in parameterShapes order. */
  names: string[];
  shapes: Map<string, number[]>;
  /** The dtype most tensors are stored in (F32 for our own folders, BF16 for Qwen's releases). */
  storedDType: StoredDType;
  /** The whole tensor as f32 (host memory for one tensor). */
  read(name: string): Promise<Float32Array>;
  /** The tensor as f32 in consecutive pieces of at most maxElems elements. */
  chunks(name: string, maxElems: number): AsyncIterable<WeightChunk>;
  close(): void;
}

/** A reader over weights in host memory (tiny models, exports, merged checkpoints). */
export function mapWeightReader(weights: Weights, shapes: Map<string, number[]>): WeightReader {
  const get = (name: string): Float32Array => {
    const w = weights.get(name);
    if (!w) throw new Error(`no weight ${name}`);
    return w;
  };
  return {
    names: [...shapes.keys()],
    shapes,
    storedDType: "F32",
    read: (name) => Promise.resolve(get(name)),
    async *chunks(name, maxElems) {
      const w = get(name);
      const step = Math.max(1, Math.floor(maxElems));
      for (let i = 0; i < w.length; i += step) yield { offset: i, values: w.subarray(i, i + step) };
    },
    close: () => {},
  };
}
