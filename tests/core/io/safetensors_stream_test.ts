import assert from "node:assert/strict";
import { join } from "node:path";
import { DataFormatError } from "../../../core/errors.ts";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../../../core/io/half.ts";
import {
  SAFETENSORS_INDEX,
  SafetensorsFile,
  SafetensorsShards,
  type TensorSource,
  writeSafetensorsFile,
  writeShardedSafetensors,
} from "../../../core/io/safetensors_stream.ts";
import { decodeSafetensors } from "../../../core/io/safetensors.ts";
import { Rng } from "../../../core/random.ts";
import { withTempDir } from "../../_helpers/temp_dir.ts";

const values = (n: number, seed: number) => {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.normal());
};

Deno.test("F32/F16/BF16/F64 tensors round-trip tensor by tensor; 16-bit values are the RNE-rounded f32s", async () => {
  await withTempDir(async (dir) => {
    const a = values(3 * 5, 1), b = values(7, 2), c = values(2 * 2 * 3, 3), d = values(4, 4);
    const path = join(dir, "m.safetensors");
    await writeSafetensorsFile(path, [
      { name: "w.f32", shape: [3, 5], dtype: "F32", values: () => a },
      { name: "w.f16", shape: [7], dtype: "F16", values: () => b },
      { name: "w.bf16", shape: [2, 2, 3], dtype: "BF16", values: () => Promise.resolve(c) },
      { name: "w.f64", shape: [4], dtype: "F64", values: () => d },
    ], { format: "pt" });
    const f = await SafetensorsFile.open(path);
    try {
      assert.deepEqual([...f.entries.keys()].sort(), ["w.bf16", "w.f16", "w.f32", "w.f64"]);
      assert.deepEqual(f.metadata, { format: "pt" });
      assert.deepEqual(f.entry("w.bf16").shape, [2, 2, 3]);
      assert.deepEqual(await f.readF32("w.f32"), a);
      assert.deepEqual(await f.readF32("w.f16"), f16ToF32(f32ToF16(b)));
      assert.deepEqual(await f.readF32("w.bf16"), bf16ToF32(f32ToBf16(c)));
      assert.deepEqual(await f.readF32("w.f64"), d);
      // Byte-level: BF16 stored little-endian as the upper halves.
      assert.deepEqual(new Uint16Array((await f.readRaw("w.bf16")).buffer), f32ToBf16(c));
    } finally {
      f.close();
    }
    // The whole-file decoder agrees on the F32 tensors (same format, same header rules).
    const whole = decodeSafetensors(
      await (async () => {
        const p2 = join(dir, "f32only.safetensors");
        await writeSafetensorsFile(p2, [{ name: "x", shape: [3, 5], dtype: "F32", values: () => a }]);
        return Deno.readFile(p2);
      })(),
    );
    assert.deepEqual(whole.tensors.get("x")!.data, a);
  });
});

Deno.test("a sharded folder reads through its index; one file when it fits in the shard size", async () => {
  await withTempDir(async (dir) => {
    const tensors: TensorSource[] = Array.from({ length: 5 }, (_, i) => ({
      name: `layers.${i}.weight`,
      shape: [10, 10],
      dtype: "BF16" as const,
      values: () => values(100, 10 + i),
    }));
    const files = await writeShardedSafetensors(dir, tensors, { maxShardBytes: 450 });
    assert.deepEqual(files, [
      "model-00001-of-00003.safetensors",
      "model-00002-of-00003.safetensors",
      "model-00003-of-00003.safetensors",
      SAFETENSORS_INDEX,
    ]);
    const index = JSON.parse(await Deno.readTextFile(join(dir, SAFETENSORS_INDEX)));
    assert.equal(index.metadata.total_size, 5 * 200);
    assert.equal(index.weight_map["layers.4.weight"], "model-00003-of-00003.safetensors");
    const s = await SafetensorsShards.open(dir);
    try {
      assert.equal(s.names.length, 5);
      assert.equal(s.storedDType(), "BF16");
      for (let i = 0; i < 5; i++) {
        assert.deepEqual(await s.readF32(`layers.${i}.weight`), bf16ToF32(f32ToBf16(values(100, 10 + i))));
      }
    } finally {
      s.close();
    }
    const one = join(dir, "one");
    assert.deepEqual(await writeShardedSafetensors(one, tensors), ["model.safetensors"]);
    const s1 = await SafetensorsShards.open(one);
    assert.equal(s1.names.length, 5);
    s1.close();
  });
});

Deno.test("bad files get a DataFormatError naming the file and field", async () => {
  await withTempDir(async (dir) => {
    const good = join(dir, "g.safetensors");
    await writeSafetensorsFile(good, [{ name: "x", shape: [4], dtype: "F32", values: () => values(4, 1) }]);
    const bytes = await Deno.readFile(good);
    const rejects = async (name: string, b: Uint8Array, re: RegExp) => {
      const p = join(dir, name);
      await Deno.writeFile(p, b);
      await assert.rejects(
        () => SafetensorsFile.open(p),
        (e: unknown) => e instanceof DataFormatError && e.message.includes(p) && re.test(e.message),
        name,
      );
    };
    await rejects("trunc.safetensors", bytes.subarray(0, bytes.length - 4), /data_offsets|data section/);
    await rejects("trailing.safetensors", new Uint8Array([...bytes, 0, 0, 0, 0]), /trailing bytes/);
    const withHeader = (h: unknown) => {
      const hb = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(8 + hb.length + 16);
      new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
      out.set(hb, 8);
      return out;
    };
    await rejects(
      "i8.safetensors",
      withHeader({ x: { dtype: "I8", shape: [16], data_offsets: [0, 16] } }),
      /x\.dtype: expected F32, F16, BF16 or F64/,
    );
    await rejects(
      "hole.safetensors",
      withHeader({
        x: { dtype: "F32", shape: [2], data_offsets: [8, 16] },
        y: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
      }),
      /no holes/,
    );
    await rejects("len.safetensors", Uint8Array.of(255, 255, 255, 255, 0, 0, 0, 0), /header length/);
    // An index entry pointing outside the folder, and one naming a tensor its shard lacks.
    const idx = join(dir, "idx");
    await Deno.mkdir(idx);
    await Deno.copyFile(good, join(idx, "a.safetensors"));
    await Deno.writeTextFile(join(idx, SAFETENSORS_INDEX), JSON.stringify({ weight_map: { x: "../g.safetensors" } }));
    await assert.rejects(() => SafetensorsShards.open(idx), /weight_map\.x: expected a shard file name in this folder/);
    await Deno.writeTextFile(join(idx, SAFETENSORS_INDEX), JSON.stringify({ weight_map: { y: "a.safetensors" } }));
    await assert.rejects(() => SafetensorsShards.open(idx), /a\.safetensors: field y: expected a tensor/);
    await assert.rejects(() => SafetensorsShards.open(join(dir, "none")), /model\.safetensors or/);
  });
});

Deno.test("a 16-bit tensor larger than the 16 MiB read chunk converts across chunk boundaries", async () => {
  await withTempDir(async (dir) => {
    const n = 9_000_001; // 18 MB of BF16: two chunks, the second partial and odd-sized
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = (i % 1013) - 506.25;
    const path = join(dir, "big.safetensors");
    await writeSafetensorsFile(path, [
      { name: "a", shape: [3], dtype: "F16", values: () => Float32Array.of(1, 2, 3) },
      { name: "big", shape: [n], dtype: "BF16", values: () => x },
    ]);
    const f = await SafetensorsFile.open(path);
    try {
      assert.deepEqual(await f.readF32("big"), bf16ToF32(f32ToBf16(x)));
      assert.deepEqual(await f.readF32("a"), Float32Array.of(1, 2, 3));
    } finally {
      f.close();
    }
  });
});
