/**
 * Sequence shards: self-describing binary files plus a manifest.json, readable as a stream.
 *
 * Shard file `<split>-NNNNN.gshard`:
 *   header: 8 bytes "GASPSHRD", u32 format version (1), u32 reserved (0)
 *   records, each: u32 magic 0x44434552 ("RECD"), u32 payload length, u32 CRC-32 of the payload, payload
 *   (payload = one CorrespondenceSequence, see record.ts). Integers little-endian.
 * A reader verifies each record's length and CRC before decoding it, so a truncated or altered file fails with a
 * DataFormatError naming the file and the record index, and never yields half a record. At the end of each file it
 * also checks the record count and the sha256 recorded in the manifest.
 *
 * manifest.json: { schemaVersion, format, seed, generator (the config that made the data), splits: { name:
 * { sequences, frames, files } }, files: [{ name, split, records, bytes, sha256 }] }. Every file is written
 * atomically (temp + rename); the manifest last, so a directory with a manifest is complete.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";
import { DataFormatError } from "../errors.ts";
import { readJsonFile } from "../io/json_file.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import type { CorrespondenceSequence } from "./types.ts";
import { crc32, decodeRecord, encodeRecord } from "./record.ts";
import { concatBytes } from "../io/concat.ts";

export const SHARD_SCHEMA_VERSION = 1;
export const SHARD_MAGIC = "GASPSHRD";
const RECORD_MAGIC = 0x44434552;
const HEADER_BYTES = 16;
const RECORD_HEADER_BYTES = 12;

/** A dataset split: training sequences, the held-out evaluation set, the Δt = 1…24 robustness set. */
export type Split = "train" | "heldout" | "robustness";
/** Every split, in manifest order. */
export const SPLITS: Split[] = ["train", "heldout", "robustness"];

const FileEntry = z.object({
  name: z.string(),
  split: z.enum(["train", "heldout", "robustness"]),
  records: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
const SplitEntry = z.object({
  sequences: z.number().int().nonnegative(),
  frames: z.number().int().nonnegative(),
  files: z.array(z.string()),
});
export const ManifestSchema = z.object({
  schemaVersion: z.literal(SHARD_SCHEMA_VERSION),
  format: z.literal("gasp-ts.correspondence-shards"),
  seed: z.number(),
  generator: z.record(z.string(), z.unknown()),
  splits: z.record(z.string(), SplitEntry),
  files: z.array(FileEntry),
});
/** One shard file in the manifest. */
export interface ManifestFile {
  /** File name, relative to the dataset folder. */
  name: string;
  /** The split its records belong to. */
  split: Split;
  /** Records (sequences) in the file. */
  records: number;
  /** File size. */
  bytes: number;
  /** Hex SHA-256 of the file's bytes. */
  sha256: string;
}

/** One split's totals in the manifest. */
export interface ManifestSplit {
  /** Sequences in the split. */
  sequences: number;
  /** Frames over all its sequences. */
  frames: number;
  /** Its shard files, in order. */
  files: string[];
}

/** manifest.json: schema version, seed, generator config, per-split counts and every shard file's checksum. */
export interface Manifest {
  /** SHARD_SCHEMA_VERSION of the writer (the check below fails when that constant changes). */
  schemaVersion: 1;
  /** Always "gasp-ts.correspondence-shards". */
  format: "gasp-ts.correspondence-shards";
  /** The dataset's master seed. */
  seed: number;
  /** The generator's config, as given. */
  generator: Record<string, unknown>;
  /** Totals per split name. */
  splits: Record<string, ManifestSplit>;
  /** Every shard file. */
  files: ManifestFile[];
}

/** Compile-time proof that the interface above and the schema describe the same object (neither can drift). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const _manifestMatches: Same<z.infer<typeof ManifestSchema>, Manifest> = true;
void _manifestMatches;

/** What a shard writer records in the manifest, and when it starts a new shard file. */
export interface ShardWriterOptions {
  /** The dataset's master seed. */
  seed: number;
  /** The generator config, stored verbatim in the manifest. */
  generator: Record<string, unknown>;
  /** Start a new shard file after this many records (default 64) or bytes (default 64 MiB). */
  maxRecordsPerShard?: number;
  /** Start a new shard file past this many bytes. */
  maxBytesPerShard?: number;
}

/** Streams sequences into shards; call finish() to write the manifest. */
export class ShardWriter {
  #open = new Map<Split, { chunks: Uint8Array[]; bytes: number; records: number }>();
  #files: Manifest["files"] = [];
  #splits: Manifest["splits"] = {};

  constructor(readonly dir: string, readonly opts: ShardWriterOptions) {}

  async add(split: Split, seq: CorrespondenceSequence): Promise<void> {
    const payload = encodeRecord(seq);
    const head = new Uint8Array(RECORD_HEADER_BYTES);
    const dv = new DataView(head.buffer);
    dv.setUint32(0, RECORD_MAGIC, true);
    dv.setUint32(4, payload.length, true);
    dv.setUint32(8, crc32(payload), true);
    let cur = this.#open.get(split);
    if (!cur) {
      cur = { chunks: [fileHeader()], bytes: HEADER_BYTES, records: 0 };
      this.#open.set(split, cur);
    }
    cur.chunks.push(head, payload);
    cur.bytes += head.length + payload.length;
    cur.records++;
    const s = (this.#splits[split] ??= { sequences: 0, frames: 0, files: [] });
    s.sequences++;
    s.frames += seq.frames.length;
    if (cur.records >= (this.opts.maxRecordsPerShard ?? 64) || cur.bytes >= (this.opts.maxBytesPerShard ?? 64 << 20)) {
      await this.#flush(split);
    }
  }

  async #flush(split: Split): Promise<void> {
    const cur = this.#open.get(split);
    if (!cur || cur.records === 0) return;
    this.#open.delete(split);
    const s = this.#splits[split];
    const name = `${split}-${String(s.files.length).padStart(5, "0")}.gshard`;
    const bytes = concatBytes(cur.chunks);
    await writeFileAtomic(join(this.dir, name), bytes);
    s.files.push(name);
    this.#files.push({ name, split, records: cur.records, bytes: bytes.length, sha256: sha256Hex(bytes) });
  }

  /** Flush open shards and write manifest.json (last). Returns the manifest. */
  async finish(): Promise<Manifest> {
    for (const split of SPLITS) await this.#flush(split);
    const manifest: Manifest = {
      schemaVersion: SHARD_SCHEMA_VERSION,
      format: "gasp-ts.correspondence-shards",
      seed: this.opts.seed,
      generator: this.opts.generator,
      splits: this.#splits,
      files: this.#files,
    };
    await writeFileAtomic(join(this.dir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
    return manifest;
  }
}

/** Write all sequences of each split to `dir` (see ShardWriter). */
export async function writeShards(
  dir: string,
  splits: Partial<Record<Split, Iterable<CorrespondenceSequence> | AsyncIterable<CorrespondenceSequence>>>,
  opts: ShardWriterOptions,
): Promise<Manifest> {
  const w = new ShardWriter(dir, opts);
  for (const split of SPLITS) {
    const seqs = splits[split];
    if (!seqs) continue;
    for await (const seq of seqs) await w.add(split, seq);
  }
  return await w.finish();
}

/** Read and validate `dir/manifest.json`. */
export async function readManifest(dir: string): Promise<Manifest> {
  const file = join(dir, "manifest.json");
  return await readJsonFile(file, ManifestSchema, "a readable JSON manifest");
}

/** Stream the sequences of one split, verifying every record (see the file comment). */
export async function* readShards(dir: string, split: Split): AsyncGenerator<CorrespondenceSequence> {
  const manifest = await readManifest(dir);
  for (const entry of manifest.files.filter((f) => f.split === split)) {
    yield* readShardFile(join(dir, entry.name), entry);
  }
}

/** Stream one shard file; `expect` (from the manifest) adds the record-count and sha256 checks at the end. */
export async function* readShardFile(
  path: string,
  expect?: { records: number; sha256: string },
): AsyncGenerator<CorrespondenceSequence> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    throw new DataFormatError(path, "(file)", "a readable shard file (listed in manifest.json)", String(e));
  }
  const size = (await file.stat()).size;
  const hash = createHash("sha256");
  const reader = new ExactReader(file, hash);
  try {
    const header = await reader.read(HEADER_BYTES);
    if (!header || new TextDecoder().decode(header.subarray(0, 8)) !== SHARD_MAGIC) {
      throw new DataFormatError(path, "header", `a shard starting with "${SHARD_MAGIC}"`);
    }
    const version = new DataView(header.buffer, header.byteOffset).getUint32(8, true);
    if (version !== SHARD_SCHEMA_VERSION) {
      throw new DataFormatError(path, "header.version", `${SHARD_SCHEMA_VERSION}`, `found ${version}`);
    }
    let index = 0;
    for (;; index++) {
      const where = `record ${index}`;
      const head = await reader.read(RECORD_HEADER_BYTES, true);
      if (head === null) break; // clean end of file
      if (head.length < RECORD_HEADER_BYTES) {
        throw new DataFormatError(path, where, "a 12-byte record header", "file truncated");
      }
      const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
      if (dv.getUint32(0, true) !== RECORD_MAGIC) {
        throw new DataFormatError(path, where, "record magic RECD", "bad magic");
      }
      const length = dv.getUint32(4, true), crc = dv.getUint32(8, true);
      if (length > size - reader.position) {
        // A damaged length field or a cut file: never allocate or read past the end.
        throw new DataFormatError(
          path,
          where,
          `${length} payload bytes`,
          `file truncated (${size - reader.position} left)`,
        );
      }
      const payload = await reader.read(length, true);
      if (payload === null || payload.length < length) {
        throw new DataFormatError(
          path,
          where,
          `${length} payload bytes`,
          `file truncated (${payload?.length ?? 0} read)`,
        );
      }
      if (crc32(payload) !== crc) {
        throw new DataFormatError(path, where, "a payload matching its CRC-32", "checksum mismatch");
      }
      yield decodeRecord(payload, path, where);
    }
    if (expect) {
      if (index !== expect.records) {
        throw new DataFormatError(path, "records", `${expect.records} records (manifest)`, `found ${index}`);
      }
      const digest = hash.digest("hex");
      if (digest !== expect.sha256) {
        throw new DataFormatError(path, "sha256", `${expect.sha256} (manifest)`, `found ${digest}`);
      }
    }
  } finally {
    file.close();
  }
}

/** Reads exact byte counts from a file, feeding everything read into `hash`. */
class ExactReader {
  #buf = new Uint8Array(1 << 20);
  #start = 0;
  #end = 0;
  /** Bytes handed out so far. */
  position = 0;
  constructor(readonly file: Deno.FsFile, readonly hash: ReturnType<typeof createHash>) {}

  /** n bytes; fewer at EOF (null if none and `eofOk`). */
  async read(n: number, eofOk = false): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      if (this.#start === this.#end) {
        const r = await this.file.read(this.#buf);
        if (r === null) break;
        this.hash.update(this.#buf.subarray(0, r));
        this.#start = 0;
        this.#end = r;
      }
      const take = Math.min(n - got, this.#end - this.#start);
      out.set(this.#buf.subarray(this.#start, this.#start + take), got);
      this.#start += take;
      got += take;
    }
    this.position += got;
    if (got === 0 && eofOk && n > 0) return null;
    return got < n ? out.subarray(0, got) : out;
  }
}

function fileHeader(): Uint8Array {
  const h = new Uint8Array(HEADER_BYTES);
  h.set(new TextEncoder().encode(SHARD_MAGIC), 0);
  new DataView(h.buffer).setUint32(8, SHARD_SCHEMA_VERSION, true);
  return h;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
