/**
 * The safetensors file format (huggingface/safetensors), so adapter checkpoints open in PyTorch/PEFT as they are:
 *   8 bytes  u64 little-endian N = header length
 *   N bytes  JSON header {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}
 *            (padded with spaces to a multiple of 8 so the data section starts aligned)
 *   rest     raw little-endian tensor bytes; offsets are relative to the start of this section, contiguous, no holes.
 * Tensors are written in name order, so equal inputs give byte-identical files.
 */
import { DataFormatError } from "../errors.ts";

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
  const tensors = new Map<string, NamedTensor>();
  const spans: [number, number, string][] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e.dtype !== "F32" && e.dtype !== "F64") fail(`${name}.dtype`, "F32 or F64", `got ${JSON.stringify(e.dtype)}`);
    const dtype = e.dtype as DType;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`${name}.shape`, "array of non-negative integers");
    }
    const shape = e.shape as number[];
    const off = e.data_offsets as [number, number];
    if (!Array.isArray(off) || off.length !== 2 || !(off[0] >= 0 && off[1] >= off[0] && off[1] <= dataLen)) {
      fail(`${name}.data_offsets`, `[begin, end] within the ${dataLen}-byte data section`, JSON.stringify(off));
    }
    if (off[1] - off[0] !== numel(shape) * DTYPE_BYTES[dtype]) {
      fail(
        `${name}.data_offsets`,
        `${numel(shape) * DTYPE_BYTES[dtype]} bytes for ${dtype} [${shape}]`,
        `got ${off[1] - off[0]}`,
      );
    }
    const copy = bytes.slice(dataStart + off[0], dataStart + off[1]).buffer;
    tensors.set(name, { shape, data: dtype === "F64" ? new Float64Array(copy) : new Float32Array(copy) });
    spans.push([off[0], off[1], name]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  let expectAt = 0;
  for (const [b, e, name] of spans) {
    if (b !== expectAt) {
      fail(`${name}.data_offsets`, `to start at byte ${expectAt} (no holes or overlaps)`, `starts at ${b}`);
    }
    expectAt = e;
  }
  if (expectAt !== dataLen) fail("data section", `${expectAt} bytes`, `file has ${dataLen} (trailing bytes)`);
  return { tensors, metadata };
}
