/**
 * The safetensors file format (huggingface/safetensors), so adapter checkpoints open in PyTorch/PEFT as they are:
 *   8 bytes  u64 little-endian N = header length
 *   N bytes  JSON header {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}
 *            (padded with spaces to a multiple of 8 so the data section starts aligned)
 *   rest     raw little-endian tensor bytes; offsets are relative to the start of this section, contiguous, no holes.
 * Tensors are written in name order, so equal inputs give byte-identical files.
 */
import { DataFormatError } from "../errors.ts";
import { checkHeaderEntries } from "./safetensors_header.ts";

export interface NamedTensor {
  shape: number[];
  data: Float32Array | Float64Array;
}

const DTYPE_BYTES = { F32: 4, F64: 8 } as const;
type DType = keyof typeof DTYPE_BYTES;

function dtypeOf(data: Float32Array | Float64Array): DType {
  return data instanceof Float64Array ? "F64" : "F32";
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function encodeSafetensors(
  tensors: Map<string, NamedTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    if (numel(t.shape) !== t.data.length) {
      throw new DataFormatError(
        "(safetensors encode)",
        name,
        `${numel(t.shape)} values for shape [${t.shape}]`,
        `got ${t.data.length}`,
      );
    }
    const dtype = dtypeOf(t.data);
    const bytes = t.data.length * DTYPE_BYTES[dtype];
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((new TextEncoder().encode(json).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors.get(name)!;
    // Little-endian hosts only (every WebGPU platform Deno runs on); the copy makes the bytes independent of t.
    const src = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(src, pos);
    pos += src.length;
  }
  return out;
}

export function decodeSafetensors(
  bytes: Uint8Array,
  file = "(buffer)",
): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  const fail = (field: string, expected: string, detail = ""): never => {
    throw new DataFormatError(file, field, expected, detail);
  };
  if (bytes.length < 8) fail("header length", "8-byte u64 prefix", `file has ${bytes.length} bytes`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + n > bytes.length) fail("header length", `≤ ${bytes.length - 8}`, `got ${n} (truncated file?)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    return fail("header", "JSON object", (e as Error).message);
  }
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const { entries, metadata } = checkHeaderEntries(header, dataLen, DTYPE_BYTES, "F32 or F64", fail);
  const tensors = new Map<string, NamedTensor>();
  for (const e of entries) {
    const copy = bytes.slice(dataStart + e.begin, dataStart + e.end).buffer;
    tensors.set(e.name, { shape: e.shape, data: e.dtype === "F64" ? new Float64Array(copy) : new Float32Array(copy) });
  }
  return { tensors, metadata };
}
