import assert from "node:assert/strict";
import { join } from "node:path";
import { DataFormatError } from "../../../core/errors.ts";
import { readManifest, readShards, writeShards } from "../../../core/scene/shards.ts";
import type { CorrespondenceSequence } from "../../../core/scene/types.ts";
import { smallSequence } from "./fixtures.ts";

async function collect(it: AsyncGenerator<CorrespondenceSequence>): Promise<CorrespondenceSequence[]> {
  const out = [];
  for await (const s of it) out.push(s);
  return out;
}

const a = await smallSequence(11);
const b = await smallSequence(12, [10, 0, 30]);
const c = await smallSequence(13, [50, 60]);

async function writeSample(dir: string) {
  return await writeShards(dir, { train: [a, b], heldout: [c] }, {
    seed: 1,
    generator: { test: true },
    maxRecordsPerShard: 1,
  });
}

Deno.test("shards round-trip every field of every sequence, per split, with a manifest", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = await writeSample(dir);
    assert.equal(m.schemaVersion, 1);
    assert.deepEqual(m.splits.train, { sequences: 2, frames: 9, files: ["train-00000.gshard", "train-00001.gshard"] });
    assert.equal(m.splits.heldout.sequences, 1);
    assert.equal(m.files.length, 3);
    for (const f of m.files) assert.match(f.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(await readManifest(dir), m);
    const train = await collect(readShards(dir, "train"));
    assert.deepEqual(train, [a, b]);
    assert.deepEqual(await collect(readShards(dir, "heldout")), [c]);
    assert.deepEqual(await collect(readShards(dir, "robustness")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a truncated shard fails with a DataFormatError naming the file and the record, after whole records only", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeShards(dir, { train: [a, b] }, { seed: 1, generator: {} });
    const file = join(dir, "train-00000.gshard");
    const bytes = await Deno.readFile(file);
    await Deno.writeFile(file, bytes.subarray(0, bytes.length - 100));
    const seen: CorrespondenceSequence[] = [];
    await assert.rejects(
      async () => {
        for await (const s of readShards(dir, "train")) seen.push(s);
      },
      (e: unknown) =>
        e instanceof DataFormatError && e.file === file && e.field === "record 1" && /truncated/.test(e.message),
    );
    assert.deepEqual(seen, [a]); // record 0 intact, nothing of record 1
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an altered byte fails the record's checksum with a DataFormatError naming file and record", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeShards(dir, { train: [a, b] }, { seed: 1, generator: {} });
    const file = join(dir, "train-00000.gshard");
    const bytes = await Deno.readFile(file);
    bytes[bytes.length - 10] ^= 0x40;
    await Deno.writeFile(file, bytes);
    await assert.rejects(
      () => collect(readShards(dir, "train")),
      (e: unknown) =>
        e instanceof DataFormatError && e.file === file && e.field === "record 1" && /checksum/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a shard replaced by another valid shard fails the manifest's sha256 / record count", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSample(dir);
    await Deno.copyFile(join(dir, "train-00001.gshard"), join(dir, "train-00000.gshard"));
    await assert.rejects(
      () => collect(readShards(dir, "train")),
      (e: unknown) => e instanceof DataFormatError && e.file.endsWith("train-00000.gshard") && e.field === "sha256",
    );
    await Deno.writeTextFile(join(dir, "manifest.json"), '{"schemaVersion": 2}');
    await assert.rejects(() => readManifest(dir), DataFormatError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writes are deterministic: the same sequences give byte-identical shards", async () => {
  const d1 = await Deno.makeTempDir(), d2 = await Deno.makeTempDir();
  try {
    const m1 = await writeSample(d1), m2 = await writeSample(d2);
    assert.deepEqual(m1.files, m2.files);
    const leftovers = [...Deno.readDirSync(d1)].filter((e) => e.name.endsWith(".tmp"));
    assert.deepEqual(leftovers, []);
  } finally {
    await Deno.remove(d1, { recursive: true });
    await Deno.remove(d2, { recursive: true });
  }
});

Deno.test("a damaged record length or a missing shard file gives a named DataFormatError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeShards(dir, { train: [a, b] }, { seed: 1, generator: {} });
    const file = join(dir, "train-00000.gshard");
    const bytes = await Deno.readFile(file);
    new DataView(bytes.buffer).setUint32(16 + 4, 0xfffffff0, true); // record 0's length field
    await Deno.writeFile(file, bytes);
    await assert.rejects(
      () => collect(readShards(dir, "train")),
      (e: unknown) => e instanceof DataFormatError && e.file === file && e.field === "record 0",
    );
    await Deno.remove(file);
    await assert.rejects(
      () => collect(readShards(dir, "train")),
      (e: unknown) => e instanceof DataFormatError && e.file === file && e.field === "(file)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
