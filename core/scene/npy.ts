/**
 * NumPy .npy (format 1.0) read/write for float32 arrays: little-endian, C order. The reader also accepts '<f8' and
 * '<u2' and '<f2' (converted to float32) so depth written by other tools loads.
 */
import { DataFormatError } from "../errors.ts";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

/** Encode a float32 array of `shape` as .npy bytes. */
export function encodeNpyFloat32(data: Float32Array, shape: number[]): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new RangeError(`npy: shape ${shape} holds ${n} values, data has ${data.length}`);
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // Pad so that magic(6) + version(2) + len(2) + header + '\n' is a multiple of 64.
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** Decode .npy bytes (float32/float64/float16/uint16, little-endian, C order) to float32. `file` names errors. */
export function decodeNpy(bytes: Uint8Array, file: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw new DataFormatError(file, "magic", "\\x93NUMPY");
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeStr = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeStr === undefined) {
    throw new DataFormatError(file, "header", "a .npy header dict", header);
  }
  if (fortran === "True") throw new DataFormatError(file, "fortran_order", "False (C order)");
  const shape = shapeStr.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const body = bytes.slice(start + headerLen);
  const sizes: Record<string, number> = { "<f4": 4, "<f8": 8, "<u2": 2, "<f2": 2 };
  const size = sizes[descr];
  if (!size) throw new DataFormatError(file, "descr", "one of '<f4', '<f8', '<f2', '<u2'", `found '${descr}'`);
  if (body.length < n * size) {
    throw new DataFormatError(file, "data", `${n * size} bytes for shape (${shape})`, `found ${body.length}`);
  }
  let data: Float32Array;
  if (descr === "<f4") data = new Float32Array(body.buffer, 0, n);
  else if (descr === "<f8") data = Float32Array.from(new Float64Array(body.buffer, 0, n));
  else if (descr === "<u2") data = Float32Array.from(new Uint16Array(body.buffer, 0, n));
  else data = Float32Array.from(new Uint16Array(body.buffer, 0, n), halfToFloat);
  return { shape, data };
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
