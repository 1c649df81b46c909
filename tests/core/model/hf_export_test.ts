import assert from "node:assert/strict";
import { join } from "node:path";
import { initGpu, noGrad } from "../../../core/runtime.ts";
import { bf16ToF32, f32ToBf16 } from "../../../core/io/half.ts";
import { SAFETENSORS_INDEX, writeShardedSafetensors } from "../../../core/io/safetensors_stream.ts";
import { TINY_CONFIG, tinySpecialId, type VlmConfig } from "../../../core/model/config.ts";
import { exportMergedHfFolder, type FoldableAdapter, foldLora } from "../../../core/model/hf_export.ts";
import { checkpointKey, type KeyLayout, openHfWeights } from "../../../core/model/hf_weights.ts";
import { initParameters, parameterShapes, type Weights } from "../../../core/model/init.ts";
import { VlmModel } from "../../../core/model/vlm.ts";
import { Rng } from "../../../core/random.ts";
import { mergeLora } from "../../../train/reference/lora.ts";
import { withTempDir } from "../../_helpers/temp_dir.ts";

const c = TINY_CONFIG;

async function writeBase(dir: string, config: VlmConfig, layout: KeyLayout, dtype: "F32" | "BF16", w: Weights) {
  await writeShardedSafetensors(
    dir,
    [...parameterShapes(config)].map(([name, shape]) => ({
      name: checkpointKey(name, layout),
      shape,
      dtype,
      values: () => w.get(name)!,
    })),
    { maxShardBytes: 1_000_000 },
  );
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(config, null, 1) + "\n");
  await Deno.writeTextFile(join(dir, "tokenizer.json"), '{"model": "stand-in"}');
  await Deno.writeTextFile(join(dir, "preprocessor_config.json"), '{"min_pixels": 3136}');
}

function randomAdapters(rng: Rng, rank: number): Map<string, FoldableAdapter> {
  const shapes = parameterShapes(c);
  const out = new Map<string, FoldableAdapter>();
  for (let l = 0; l < c.num_hidden_layers; l++) {
    for (const m of ["q_proj", "v_proj", "o_proj"]) {
      const name = `model.layers.${l}.self_attn.${m}.weight`;
      const [O, I] = shapes.get(name)!;
      const r = () => 0.05 * rng.normal();
      out.set(name, {
        rank,
        A: Float32Array.from({ length: rank * I }, r),
        B: Float32Array.from({ length: O * rank }, r),
      });
    }
  }
  return out;
}

Deno.test("export folds LoRA into the base (as the f64 merge), keeps untouched tensors, copies side files verbatim", async () => {
  await withTempDir(async (dir) => {
    const base = join(dir, "base"), out = join(dir, "out");
    const w = initParameters(c, 9);
    await writeBase(base, c, "original", "F32", w);
    const rank = 4, scale = 2;
    const adapters = randomAdapters(new Rng(1), rank);
    const r = await exportMergedHfFolder(out, { baseDir: base, config: c, adapters, scale, maxShardBytes: 1_000_000 });
    assert.equal(r.dtype, "F32");
    assert(r.files.includes(SAFETENSORS_INDEX) && r.files.includes("preprocessor_config.json"));
    for (const f of ["config.json", "tokenizer.json", "preprocessor_config.json"]) {
      assert.deepEqual(await Deno.readFile(join(out, f)), await Deno.readFile(join(base, f)), f);
    }
    const back = await openHfWeights(out, c);
    try {
      for (const name of back.names) {
        const got = await back.read(name);
        const ad = adapters.get(name);
        if (!ad) {
          assert.deepEqual(got, w.get(name), name);
          continue;
        }
        const [O, I] = back.shapes.get(name)!;
        const ref = mergeLora({ rows: O, cols: I, data: Float64Array.from(w.get(name)!) }, {
          rank,
          alpha: scale * rank,
          dropout: 0,
          A: { rows: rank, cols: I, data: Float64Array.from(ad.A) },
          B: { rows: O, cols: rank, data: Float64Array.from(ad.B) },
        });
        for (let i = 0; i < got.length; i++) assert(Math.abs(got[i] - ref.data[i]) < 1e-6, `${name}[${i}]`);
      }
    } finally {
      back.close();
    }
  });
});

Deno.test("a bf16 new-layout base exports bf16 in its layout, and the reloaded export gives identical logits", async () => {
  await withTempDir(async (dir) => {
    await initGpu();
    const base = join(dir, "base"), out = join(dir, "out");
    const w = initParameters(c, 10);
    await writeBase(base, c, "language-model", "BF16", w);
    const adapters = randomAdapters(new Rng(2), 2);
    const r = await exportMergedHfFolder(out, { baseDir: base, config: c, adapters, scale: 1 });
    assert.equal(r.dtype, "BF16");
    assert.equal(r.layout, "language-model");
    assert.deepEqual(r.files.slice(0, 1), ["model.safetensors"], "one file under 5 GB");
    // In memory: the bf16 base folded in f32, then rounded to bf16 as the writer stores it.
    const src = await openHfWeights(base, c);
    const merged: Weights = new Map();
    for (const name of src.names) {
      const x = await src.read(name);
      const ad = adapters.get(name);
      merged.set(name, bf16ToF32(f32ToBf16(ad ? foldLora(x, ad, 1) : x)));
    }
    src.close();
    const back = await openHfWeights(out, c);
    const reloaded: Weights = new Map();
    for (const name of back.names) reloaded.set(name, await back.read(name));
    back.close();
    const ids = [tinySpecialId("<|im_start|>"), 11, 42, 7, 300, 17, 99];
    const logits = async (weights: Weights) => {
      const m = new VlmModel(c, weights);
      try {
        return await noGrad(() => m.forward({ inputIds: ids })).logits!.toArray();
      } finally {
        m.dispose();
      }
    };
    assert.deepEqual(await logits(reloaded), await logits(merged));
  });
});

Deno.test("the export's config.json is the base's, plus frame_positions when the run laid frames out as one video", async () => {
  await withTempDir(async (dir) => {
    const base = join(dir, "base");
    await writeBase(base, c, "original", "F32", initParameters(c, 3));
    const baseBody = JSON.parse(await Deno.readTextFile(join(base, "config.json")));
    const opts = { baseDir: base, adapters: new Map(), scale: 1 };
    await exportMergedHfFolder(join(dir, "images"), { ...opts, config: c });
    assert.equal(
      await Deno.readTextFile(join(dir, "images", "config.json")),
      await Deno.readTextFile(join(base, "config.json")),
    );
    await exportMergedHfFolder(join(dir, "video"), { ...opts, config: { ...c, frame_positions: "video" } });
    const video = JSON.parse(await Deno.readTextFile(join(dir, "video", "config.json")));
    assert.deepEqual(video, { ...baseBody, frame_positions: "video" });
  });
});
