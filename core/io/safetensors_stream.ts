/**
 * Safetensors files read and written one tensor at a time, so a multi-GB checkpoint never sits in host memory whole:
 * opening reads only the 8-byte length and the JSON header; `readF32(name)` seeks to that tensor's bytes and converts
 * them (F32, F16, BF16, F64 → f32); writing takes each tensor's values on demand. Format (huggingface/safetensors):
 *   u64 LE header length N · N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}
 *   · the data section (offsets relative to its start, contiguous, no holes).
 * A sharded checkpoint (model-0000k-of-0000n.safetensors + model.safetensors.index.json, as Hugging Face saves
 * anything above max_shard_size) reads through `SafetensorsShards`, which maps each name to its file.
 */
import { basename, dirname, join, resolve } from "node:path";
import { existsSync } from "node:fs";
import { DataFormatError } from "../errors.ts";
import { checkHeaderEntries } from "./safetensors_header.ts";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./half.ts";

export type StoredDType = "F64" | "F32" | "F16" | "BF16";
export const STORED_DTYPE_BYTES: Record<StoredDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2 };

/** One tensor of a file: absolute byte range [begin, end). */
export interface TensorEntry {
  name: string;
  dtype: StoredDType;
  shape: number[];
  begin: number;
  end: number;
  file: string;
}

/** The spec caps the header at 100 MB; anything bigger is a corrupt length field, not a header. */
const MAX_HEADER_BYTES = 100_000_000;
/** Conversion chunk of readF32 for 16-bit and F64 tensors. */
const READ_CHUNK_BYTES = 16 * 2 ** 20;

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

async function readExactly(file: Deno.FsFile, at: number, into: Uint8Array, path: string): Promise<void> {
  await file.seek(at, Deno.SeekMode.Start);
  for (let done = 0; done < into.length;) {
    const n = await file.read(into.subarray(done));
    if (n === null) throw new DataFormatError(path, "(file)", `${into.length} bytes at offset ${at}`, "truncated");
    done += n;
  }
}

/** One open safetensors file. Close it when done. */
export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private file: Deno.FsFile,
    readonly entries: Map<string, TensorEntry>,
    readonly metadata: Record<string, string>,
  ) {}

  /** Reads and checks the header (dtypes, shapes, offsets, no holes, file length); no tensor data is read. */
  static async open(path: string): Promise<SafetensorsFile> {
    const file = await Deno.open(path, { read: true }).catch((e) => {
      throw new DataFormatError(path, "(file)", "a readable safetensors file", (e as Error).message);
    });
    try {
      const size = (await file.stat()).size;
      const fail = (field: string, expected: string, detail = ""): never => {
        throw new DataFormatError(path, field, expected, detail);
      };
      if (size < 8) fail("header length", "8-byte u64 prefix", `file has ${size} bytes`);
      const lenBytes = new Uint8Array(8);
      await readExactly(file, 0, lenBytes, path);
      const n = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
      if (n > MAX_HEADER_BYTES || 8 + n > size) {
        fail("header length", `≤ ${Math.min(size - 8, MAX_HEADER_BYTES)}`, `${n}`);
      }
      const hb = new Uint8Array(n);
      await readExactly(file, 8, hb, path);
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(new TextDecoder().decode(hb));
      } catch (e) {
        return fail("header", "JSON object", (e as Error).message);
      }
      const dataStart = 8 + n, dataLen = size - dataStart;
      const checked = checkHeaderEntries(header, dataLen, STORED_DTYPE_BYTES, "F32, F16, BF16 or F64", fail);
      const entries = new Map<string, TensorEntry>();
      for (const e of checked.entries) {
        const [begin, end] = [dataStart + e.begin, dataStart + e.end];
        entries.set(e.name, { name: e.name, dtype: e.dtype as StoredDType, shape: e.shape, begin, end, file: path });
      }
      const metadata = checked.metadata;
      return new SafetensorsFile(path, file, entries, metadata);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  entry(name: string): TensorEntry {
    const e = this.entries.get(name);
    if (!e) throw new DataFormatError(this.path, name, "a tensor of this name");
    return e;
  }

  /** The tensor's stored bytes, read from disk now. */
  async readRaw(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    const out = new Uint8Array(e.end - e.begin);
    await readExactly(this.file, e.begin, out, this.path);
    return out;
  }

  /**
   * The tensor as f32 (F16/BF16 widened exactly, F64 rounded). F32 is read straight into the result; other dtypes
   * are read and converted in 16 MiB chunks, so peak memory is the f32 result plus one chunk.
   */
  async readF32(name: string): Promise<Float32Array> {
    const e = this.entry(name);
    if (e.dtype === "F32") return new Float32Array((await this.readRaw(name)).buffer);
    const out = new Float32Array((e.end - e.begin) / STORED_DTYPE_BYTES[e.dtype]);
    const chunk = Math.max(1, Math.floor(READ_CHUNK_BYTES / STORED_DTYPE_BYTES[e.dtype]));
    for await (const c of this.chunksF32(name, chunk)) out.set(c.values, c.offset);
    return out;
  }

  /**
   * The tensor as f32 in consecutive pieces of at most `maxElems` elements (`offset` = index of the first), read and
   * converted one at a time: whoever consumes them (a device upload) never needs the whole tensor on the host. A
   * piece's values are valid until the next one is requested.
   */
  async *chunksF32(name: string, maxElems: number): AsyncGenerator<{ offset: number; values: Float32Array }> {
    const e = this.entry(name);
    const width = STORED_DTYPE_BYTES[e.dtype], n = (e.end - e.begin) / width;
    const chunk = Math.max(1, Math.min(n, Math.floor(maxElems)));
    const raw = new Uint8Array(chunk * width);
    const f32 = e.dtype === "F32" ? null : new Float32Array(chunk);
    for (let i = 0; i < n; i += chunk) {
      const m = Math.min(chunk, n - i), part = raw.subarray(0, m * width);
      await readExactly(this.file, e.begin + i * width, part, this.path);
      if (!f32) yield { offset: i, values: new Float32Array(raw.buffer, 0, m) };
      else {
        const v = f32.subarray(0, m), bits = new Uint16Array(raw.buffer, 0, m);
        if (e.dtype === "BF16") bf16ToF32(bits, v);
        else if (e.dtype === "F16") f16ToF32(bits, v);
        else v.set(storedToF32(part, e.dtype));
        yield { offset: i, values: v };
      }
    }
  }

  close(): void {
    this.file.close();
  }
}

/** Stored bytes (little-endian) of `dtype` → f32. */
export function storedToF32(raw: Uint8Array, dtype: StoredDType): Float32Array {
  const n = raw.length / STORED_DTYPE_BYTES[dtype];
  // `raw` is a fresh, aligned allocation from readRaw; copy if a caller hands in an unaligned view.
  const aligned = raw.byteOffset % 8 === 0 ? raw : raw.slice();
  const buf = aligned.buffer, off = aligned.byteOffset;
  if (dtype === "F32") return new Float32Array(buf, off, n);
  if (dtype === "F64") return Float32Array.from(new Float64Array(buf, off, n));
  if (dtype === "BF16") return bf16ToF32(new Uint16Array(buf, off, n));
  return f16ToF32(new Uint16Array(buf, off, n));
}

/** f32 values → the stored bytes of `dtype` (round to nearest even for F16/BF16). */
export function f32ToStored(x: Float32Array, dtype: StoredDType): Uint8Array {
  if (dtype === "F32") return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  if (dtype === "F64") return new Uint8Array(Float64Array.from(x).buffer);
  const bits = dtype === "BF16" ? f32ToBf16(x) : f32ToF16(x);
  return new Uint8Array(bits.buffer);
}

/** The index file of a sharded checkpoint. */
export const SAFETENSORS_INDEX = "model.safetensors.index.json";
export const SAFETENSORS_SINGLE = "model.safetensors";

/**
 * The weights of a model folder: `model.safetensors`, or the shards an index names. Files open lazily (a handle per
 * shard, kept until close()); every name maps to exactly one file.
 */
export class SafetensorsShards {
  private files = new Map<string, SafetensorsFile>();

  private constructor(readonly dir: string, readonly entries: Map<string, TensorEntry>, files: SafetensorsFile[]) {
    for (const f of files) this.files.set(f.path, f);
  }

  /** True when `dir` holds model.safetensors or model.safetensors.index.json. */
  static exists(dir: string): boolean {
    return existsSync(join(dir, SAFETENSORS_SINGLE)) || existsSync(join(dir, SAFETENSORS_INDEX));
  }

  static async open(dir: string): Promise<SafetensorsShards> {
    const indexPath = join(dir, SAFETENSORS_INDEX);
    const files: SafetensorsFile[] = [];
    const entries = new Map<string, TensorEntry>();
    try {
      if (!existsSync(indexPath)) {
        const single = join(dir, SAFETENSORS_SINGLE);
        if (!existsSync(single)) {
          throw new DataFormatError(dir, "(weights)", `${SAFETENSORS_SINGLE} or ${SAFETENSORS_INDEX}`);
        }
        const f = await SafetensorsFile.open(single);
        files.push(f);
        for (const [n, e] of f.entries) entries.set(n, e);
        return new SafetensorsShards(dir, entries, files);
      }
      let index: { weight_map?: unknown };
      try {
        index = JSON.parse(await Deno.readTextFile(indexPath));
      } catch (e) {
        throw new DataFormatError(indexPath, "(contents)", "JSON", (e as Error).message);
      }
      const map = index.weight_map;
      if (typeof map !== "object" || map === null || Array.isArray(map)) {
        throw new DataFormatError(indexPath, "weight_map", "an object {tensor name: shard file}");
      }
      const byFile = new Map<string, string[]>();
      for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
        // A shard is a plain file name in the same folder: no path from a data file leaves its root.
        if (typeof file !== "string" || file !== basename(file) || file === "." || file === "..") {
          throw new DataFormatError(indexPath, `weight_map.${name}`, "a shard file name in this folder", String(file));
        }
        byFile.set(file, [...(byFile.get(file) ?? []), name]);
      }
      for (const [file, names] of [...byFile].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const f = await SafetensorsFile.open(join(dir, file));
        files.push(f);
        for (const n of names) {
          const e = f.entries.get(n);
          if (!e) throw new DataFormatError(f.path, n, `a tensor (${SAFETENSORS_INDEX} maps it to this shard)`);
          entries.set(n, e);
        }
      }
      return new SafetensorsShards(dir, entries, files);
    } catch (e) {
      for (const f of files) f.close();
      throw e;
    }
  }

  get names(): string[] {
    return [...this.entries.keys()];
  }

  entry(name: string): TensorEntry {
    const e = this.entries.get(name);
    if (!e) throw new DataFormatError(this.dir, name, "a tensor of this name in the model's safetensors");
    return e;
  }

  readF32(name: string): Promise<Float32Array> {
    const e = this.entry(name);
    return this.files.get(e.file)!.readF32(name);
  }

  /** The tensor as f32 in pieces of at most `maxElems` elements (SafetensorsFile.chunksF32). */
  chunksF32(name: string, maxElems: number): AsyncGenerator<{ offset: number; values: Float32Array }> {
    const e = this.entry(name);
    return this.files.get(e.file)!.chunksF32(name, maxElems);
  }

  /** The stored dtype most tensors use (the checkpoint's storage type, e.g. BF16). */
  storedDType(): StoredDType {
    const count = new Map<StoredDType, number>();
    for (const e of this.entries.values()) count.set(e.dtype, (count.get(e.dtype) ?? 0) + numel(e.shape));
    return [...count].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "F32";
  }

  close(): void {
    for (const f of this.files.values()) f.close();
    this.files.clear();
  }
}

/** A tensor to write: its values come from `values()` when the writer reaches it. */
export interface TensorSource {
  name: string;
  shape: number[];
  dtype: StoredDType;
  values: () => Float32Array | Promise<Float32Array>;
}

/**
 * Writes one safetensors file, tensors in name order (equal inputs → byte-identical files), each converted and
 * written as it is produced; the file appears atomically (temp file + rename).
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: readonly TensorSource[],
  metadata: Record<string, string> = {},
): Promise<number> {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  for (const t of sorted) {
    const bytes = numel(t.shape) * STORED_DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const hb = new TextEncoder().encode(json);
  await Deno.mkdir(dirname(resolve(path)), { recursive: true });
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(hb.length), true);
    await writeAll(file, len);
    await writeAll(file, hb);
    for (const t of sorted) {
      const v = await t.values();
      if (v.length !== numel(t.shape)) {
        throw new DataFormatError(path, t.name, `${numel(t.shape)} values for shape [${t.shape}]`, `got ${v.length}`);
      }
      await writeAll(file, f32ToStored(v, t.dtype));
    }
    file.close();
    await Deno.rename(tmp, path);
  } catch (e) {
    try {
      file.close();
    } catch { /* already closed */ }
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  return 8 + hb.length + off;
}

/**
 * Writes a model's weights as Hugging Face does: one `model.safetensors` if it fits in `maxShardBytes`, else
 * model-0000k-of-0000n.safetensors shards (tensors in name order, a new shard when the next tensor would overflow
 * it) and model.safetensors.index.json {metadata: {total_size}, weight_map}. Returns the files written.
 */
export async function writeShardedSafetensors(
  dir: string,
  tensors: readonly TensorSource[],
  opts: { maxShardBytes?: number; metadata?: Record<string, string> } = {},
): Promise<string[]> {
  // transformers' save_pretrained default max_shard_size "5GB" (decimal).
  const max = opts.maxShardBytes ?? 5e9;
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const size = (t: TensorSource) => numel(t.shape) * STORED_DTYPE_BYTES[t.dtype];
  const groups: TensorSource[][] = [[]];
  let inGroup = 0;
  for (const t of sorted) {
    if (inGroup > 0 && inGroup + size(t) > max) (groups.push([]), inGroup = 0);
    groups[groups.length - 1].push(t);
    inGroup += size(t);
  }
  const metadata = opts.metadata ?? { format: "pt" };
  if (groups.length === 1) {
    await writeSafetensorsFile(join(dir, SAFETENSORS_SINGLE), sorted, metadata);
    return [SAFETENSORS_SINGLE];
  }
  const pad = (i: number) => String(i).padStart(5, "0");
  const names = groups.map((_, i) => `model-${pad(i + 1)}-of-${pad(groups.length)}.safetensors`);
  const weightMap: Record<string, string> = {};
  for (const [i, g] of groups.entries()) {
    await writeSafetensorsFile(join(dir, names[i]), g, metadata);
    for (const t of g) weightMap[t.name] = names[i];
  }
  const index = { metadata: { total_size: sorted.reduce((s, t) => s + size(t), 0) }, weight_map: weightMap };
  const tmp = join(dir, `${SAFETENSORS_INDEX}.${Deno.pid}.tmp`);
  await Deno.writeTextFile(tmp, JSON.stringify(index, null, 2) + "\n");
  await Deno.rename(tmp, join(dir, SAFETENSORS_INDEX));
  return [...names, SAFETENSORS_INDEX];
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
}
