import assert from "node:assert/strict";
import { join } from "node:path";
import { DataFormatError } from "../../../core/errors.ts";
import { bf16ToF32, f32ToBf16 } from "../../../core/io/half.ts";
import { type StoredDType, writeShardedSafetensors } from "../../../core/io/safetensors_stream.ts";
import { TINY_CONFIG, type VlmConfig } from "../../../core/model/config.ts";
import { checkpointKey, detectKeyLayout, type KeyLayout, openHfWeights } from "../../../core/model/hf_weights.ts";
import { initParameters, parameterShapes } from "../../../core/model/init.ts";
import { writeRealShapeCheckpoint } from "../../fixtures/real_shape_checkpoint.ts";
import { withTempDir } from "../../_helpers/temp_dir.ts";

/** Writes `config`'s seeded weights in a layout and dtype, sharded at `maxShardBytes`; extra tensors appended. */
async function writeFolder(
  dir: string,
  config: VlmConfig,
  layout: KeyLayout,
  dtype: StoredDType,
  maxShardBytes: number,
  extra: Record<string, Float32Array> = {},
) {
  const w = initParameters(config, 5), shapes = parameterShapes(config);
  const tensors = [...shapes].map(([name, shape]) => ({
    name: checkpointKey(name, layout),
    shape,
    dtype,
    values: () => w.get(name)!,
  }));
  for (const [name, v] of Object.entries(extra)) tensors.push({ name, shape: [v.length], dtype, values: () => v });
  return { files: await writeShardedSafetensors(dir, tensors, { maxShardBytes }), weights: w };
}

Deno.test("both key layouts map to our names; BF16 shards read back as the RNE-rounded f32 values", async () => {
  await withTempDir(async (dir) => {
    for (const [layout, dtype] of [["language-model", "BF16"], ["original", "F32"]] as const) {
      const sub = join(dir, layout);
      const { files, weights } = await writeFolder(sub, TINY_CONFIG, layout, dtype, 400_000);
      assert(files.length > 2, "sharded");
      const src = await openHfWeights(sub, TINY_CONFIG);
      try {
        assert.equal(src.layout, layout);
        assert.equal(src.storedDType, dtype);
        assert.deepEqual(src.names, [...parameterShapes(TINY_CONFIG).keys()]);
        assert.deepEqual(src.unused, []);
        for (
          const name of ["model.layers.3.self_attn.q_proj.weight", "visual.blocks.1.attn.qkv.bias", "lm_head.weight"]
        ) {
          const want = dtype === "BF16" ? bf16ToF32(f32ToBf16(weights.get(name)!)) : weights.get(name)!;
          assert.deepEqual(await src.read(name), want, `${layout} ${name}`);
        }
      } finally {
        src.close();
      }
    }
  });
});

Deno.test("tied embeddings: lm_head.weight is not needed, and a stored copy is reported unused", async () => {
  await withTempDir(async (dir) => {
    const tied: VlmConfig = { ...TINY_CONFIG, tie_word_embeddings: true };
    await writeFolder(dir, tied, "language-model", "F16", 1e9, { "lm_head.weight": new Float32Array(4) });
    const src = await openHfWeights(dir, tied);
    assert(!src.names.includes("lm_head.weight"));
    assert.deepEqual(src.unused, ["lm_head.weight"]);
    src.close();
  });
});

Deno.test("a missing or mis-shaped tensor is named before any data is read", async () => {
  await withTempDir(async (dir) => {
    const tied: VlmConfig = { ...TINY_CONFIG, tie_word_embeddings: true };
    await writeFolder(dir, tied, "original", "F32", 1e9);
    await assert.rejects(
      () => openHfWeights(dir, TINY_CONFIG),
      (e: unknown) => e instanceof DataFormatError && /lm_head\.weight.*tie_word_embeddings: false/.test(e.message),
    );
    const wider: VlmConfig = { ...tied, intermediate_size: 384 };
    await assert.rejects(
      () => openHfWeights(dir, wider),
      /model\.layers\.0\.mlp\.gate_proj\.weight\.shape: expected \[384,128\] from config\.json \(got \[256,128\]\)/,
    );
  });
  assert.throws(
    () => detectKeyLayout(["model.layers.0.mlp.up_proj.weight", "model.language_model.norm.weight"]),
    /mixes/,
  );
});

Deno.test("the real-shape 3B folder (new layout, bf16, 2 shards) opens with every parameter at its HF shape", async () => {
  await withTempDir(async (dir) => {
    const r = await writeRealShapeCheckpoint(dir);
    const src = await openHfWeights(dir, r.config);
    try {
      assert.equal(src.layout, "language-model");
      assert.equal(src.storedDType, "BF16");
      assert.equal(src.names.length, Object.keys(r.weightMap).length);
      assert.deepEqual(src.shapes.get("model.embed_tokens.weight"), [151936, 2048]);
      assert.deepEqual(src.shapes.get("model.layers.1.self_attn.k_proj.weight"), [256, 2048]);
      assert.deepEqual(src.shapes.get("visual.blocks.1.mlp.gate_proj.weight"), [3420, 1280]);
      const q = await src.read("model.layers.0.self_attn.q_proj.weight");
      const std = Math.sqrt(q.reduce((s, x) => s + x * x, 0) / q.length);
      assert(Math.abs(std * Math.sqrt(2048) - 1) < 0.02, `q_proj std ${std} vs 1/√2048`);
    } finally {
      src.close();
    }
  });
});
