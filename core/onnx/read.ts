/**
 * Read a .onnx file's initializers (raw_data or the typed *_data fields; float32/float16/bfloat16/double/int32/
 * int64/uint8/int8/bool; external data files with location/offset/length) into named tensors, and load model
 * weights by Hugging Face name with shape checks.
 */
import { dirname, join } from "node:path";
import { DataFormatError, ShapeMismatchError } from "../errors.ts";
import { DataType, onnx, type TensorProto, toNumber } from "./proto.ts";

/** One decoded ONNX initializer. */
export interface OnnxTensor {
  /** Shape. */
  dims: number[];
  /** ONNX TensorProto.DataType code of the stored tensor. */
  dataType: number;
  /** Floats of any width are widened to Float32Array; int64 stays BigInt64Array. */
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;
}

/** Rename initializers: a map from ONNX name to our (HF) name, or a function returning undefined to keep it. */
export type NameMap = Record<string, string> | ((onnxName: string) => string | undefined);

function rename(name: string, map?: NameMap): string {
  if (!map) return name;
  return (typeof map === "function" ? map(name) : map[name]) ?? name;
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

async function externalBytes(t: TensorProto, modelDir: string, file: string): Promise<Uint8Array> {
  const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? "", e.value ?? ""]));
  const location = kv.get("location");
  if (!location) throw new DataFormatError(file, `${t.name}.external_data.location`, "a file name");
  const path = join(modelDir, location);
  const offset = Number(kv.get("offset") ?? "0");
  const fh = await Deno.open(path, { read: true }).catch(() => {
    throw new DataFormatError(file, `${t.name}.external_data.location`, `an existing file`, `${path} not found`);
  });
  try {
    const length = kv.has("length") ? Number(kv.get("length")) : (await fh.stat()).size - offset;
    await fh.seek(offset, Deno.SeekMode.Start);
    const buf = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const n = await fh.read(buf.subarray(got));
      if (n === null) {
        throw new DataFormatError(path, t.name ?? "", `${length} bytes at offset ${offset}`, "file too short");
      }
      got += n;
    }
    return buf;
  } finally {
    fh.close();
  }
}

/** Decode one TensorProto (raw bytes already resolved). */
export function decodeTensor(t: TensorProto, raw: Uint8Array | null, file = "model.onnx"): OnnxTensor {
  const dims = (t.dims ?? []).map(toNumber);
  const n = dims.reduce((a, b) => a * b, 1);
  const dt = t.dataType ?? 0;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  const check = (have: number) => {
    if (have !== n) throw new DataFormatError(file, `${t.name}`, `${n} values for dims [${dims}]`, `found ${have}`);
  };
  /** A fixed-width type: from the raw little-endian bytes when present, else from the proto's typed field. */
  const fixed = <V, A extends { [i: number]: V }>(
    out: A,
    width: number,
    read: (byteOffset: number) => V,
    field: ArrayLike<V> | null | undefined,
  ): A => {
    check(view ? raw!.byteLength / width : field?.length ?? 0);
    for (let i = 0; i < n; i++) out[i] = view ? read(i * width) : field![i];
    return out;
  };
  switch (dt) {
    case DataType.FLOAT:
      return { dims, dataType: dt, data: fixed(new Float32Array(n), 4, (o) => view!.getFloat32(o, true), t.floatData) };
    case DataType.FLOAT16:
    case DataType.BFLOAT16: {
      const out = new Float32Array(n);
      const bits: ArrayLike<number> = view
        ? Uint16Array.from({ length: raw!.byteLength / 2 }, (_, i) => view.getUint16(i * 2, true))
        : (t.int32Data ?? []);
      check(bits.length);
      const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
      for (let i = 0; i < n; i++) {
        if (dt === DataType.FLOAT16) out[i] = f16ToF32(bits[i]);
        else {
          u32[0] = bits[i] << 16;
          out[i] = f32[0];
        }
      }
      return { dims, dataType: dt, data: out };
    }
    case DataType.DOUBLE: {
      const src = view
        ? Float64Array.from({ length: raw!.byteLength / 8 }, (_, i) => view.getFloat64(i * 8, true))
        : (t.doubleData ?? []);
      check(src.length);
      return { dims, dataType: dt, data: Float32Array.from(src) };
    }
    case DataType.INT64: {
      const field = t.int64Data?.map((v) => BigInt(toNumber(v)));
      return { dims, dataType: dt, data: fixed(new BigInt64Array(n), 8, (o) => view!.getBigInt64(o, true), field) };
    }
    case DataType.INT32:
      return { dims, dataType: dt, data: fixed(new Int32Array(n), 4, (o) => view!.getInt32(o, true), t.int32Data) };
    case DataType.UINT8:
    case DataType.BOOL:
    case DataType.INT8: {
      const src = raw ?? Uint8Array.from(t.int32Data ?? []);
      check(src.length);
      return { dims, dataType: dt, data: dt === DataType.INT8 ? new Int8Array(src.slice().buffer) : src.slice() };
    }
    default:
      throw new DataFormatError(file, `${t.name}.data_type`, "a float, int or bool tensor type", `got ${dt}`);
  }
}

/** All initializers of an .onnx file by (optionally renamed) name. External data is resolved next to the file. */
export async function readOnnxInitializers(
  path: string,
  opts: { nameMap?: NameMap } = {},
): Promise<Map<string, OnnxTensor>> {
  const bytes = await Deno.readFile(path);
  let model;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new DataFormatError(path, "ModelProto", "a serialized ONNX model", (e as Error).message);
  }
  const out = new Map<string, OnnxTensor>();
  for (const t of model.graph?.initializer ?? []) {
    const external = t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL;
    const raw = external ? await externalBytes(t, dirname(path), path) : t.rawData?.length ? t.rawData : null;
    out.set(rename(t.name ?? "", opts.nameMap), decodeTensor(t, raw, path));
  }
  return out;
}

/**
 * Load the parameters named in `shapes` (e.g. parameterShapes(config)) from one or more .onnx files as f32.
 * Missing names and wrong shapes throw, naming the parameter and both shapes; extra initializers are ignored.
 */
export async function loadOnnxWeights(
  paths: string[],
  shapes: Map<string, number[]>,
  opts: { nameMap?: NameMap } = {},
): Promise<Map<string, Float32Array>> {
  const all = new Map<string, OnnxTensor>();
  for (const p of paths) for (const [k, v] of await readOnnxInitializers(p, opts)) all.set(k, v);
  const out = new Map<string, Float32Array>();
  const missing: string[] = [];
  for (const [name, shape] of shapes) {
    const t = all.get(name);
    if (!t) {
      missing.push(`${name} [${shape}]`);
      continue;
    }
    if (t.dims.length !== shape.length || t.dims.some((d, i) => d !== shape[i])) {
      throw new ShapeMismatchError("loadOnnxWeights", `parameter ${name}: expected [${shape}], file has [${t.dims}]`);
    }
    if (!(t.data instanceof Float32Array)) {
      throw new DataFormatError(paths.join(", "), name, "a floating-point tensor", `data_type ${t.dataType}`);
    }
    out.set(name, t.data);
  }
  if (missing.length) {
    throw new DataFormatError(
      paths.join(", "),
      "initializers",
      "every model parameter by its Hugging Face name (pass a nameMap if the export renamed them)",
      `missing ${missing.length}: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", ..." : ""}`,
    );
  }
  return out;
}
