import assert from "node:assert/strict";
import { join } from "node:path";
import { DataFormatError } from "../../core/errors.ts";
import { Rng } from "../../core/random.ts";
import { loadCheckpoint, saveCheckpoint, type TrainCheckpoint } from "../../train/checkpoint.ts";
import { checkpointName, latestCheckpointDir } from "../../core/model/folder/checkpoint_files.ts";
import { DEFAULT_TRAIN_CONFIG } from "../../train/config.ts";
import { decodeSafetensors } from "../../core/io/safetensors.ts";
import { peftAdapterConfig } from "../../train/peft_adapter.ts";

function makeCheckpoint(step: number, rng: Rng): TrainCheckpoint {
  const p = "model.layers.0.self_attn.q_proj.lora_A.weight";
  const h = "correspondence_heads.0.fc1.weight";
  const t = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  return {
    step,
    config: { ...DEFAULT_TRAIN_CONFIG, steps: 50 },
    base: { model: "tiny", sha256: "ab".repeat(32) },
    rng: { data: rng.state(), dropout: new Rng(step).state() },
    adapters: new Map([[p, { shape: [2, 4], data: t(8) }], [h, { shape: [3, 4], data: t(12) }]]),
    optimizer: {
      step,
      expAvg: new Map([[p, { shape: [2, 4], data: t(8) }], [h, { shape: [3, 4], data: t(12) }]]),
      expAvgSq: new Map([[p, { shape: [2, 4], data: t(8) }], [h, { shape: [3, 4], data: t(12) }]]),
    },
    extra: { tokensSeen: 1234, dataCursor: 7 },
  };
}

function assertSameCheckpoint(a: TrainCheckpoint, b: TrainCheckpoint): void {
  assert.equal(a.step, b.step);
  assert.deepEqual(a.config, b.config);
  assert.deepEqual(a.base, b.base);
  assert.deepEqual(a.rng, b.rng);
  assert.deepEqual(a.extra, b.extra);
  assert.equal(a.optimizer.step, b.optimizer.step);
  for (
    const [x, y] of [[a.adapters, b.adapters], [a.optimizer.expAvg, b.optimizer.expAvg], [
      a.optimizer.expAvgSq,
      b.optimizer.expAvgSq,
    ]]
  ) {
    assert.deepEqual([...x.keys()].sort(), [...y.keys()].sort());
    for (const [k, v] of x) assert.deepEqual(Array.from(y.get(k)!.data), Array.from(v.data), k);
  }
}

Deno.test("a saved checkpoint loads back identically (weights, optimizer moments, config, step, RNG state)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rng = new Rng(40);
    const ck = makeCheckpoint(100, rng);
    const dataRng = new Rng(7);
    dataRng.next();
    ck.rng.data = dataRng.state();
    const stepDir = await saveCheckpoint(dir, ck);
    assert.equal(stepDir, join(dir, "step-000100"));
    assert.equal(await latestCheckpointDir(dir), stepDir);
    const back = await loadCheckpoint(dir);
    assertSameCheckpoint(back, ck);
    // The restored RNG continues the same stream.
    assert.equal(Rng.fromState(back.rng.data).next(), dataRng.next());
    assert.deepEqual(await loadCheckpoint(stepDir), back);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the run folder holds the latest adapter as PEFT writes it (config + PEFT keys) and the heads apart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [layout, prefix] of [
        ["original", "base_model.model.model.layers.0"],
        ["language-model", "base_model.model.model.language_model.layers.0"],
      ] as const
    ) {
      const run = join(dir, layout);
      const ck = makeCheckpoint(10, new Rng(43));
      ck.base = { model: "/models/Qwen2.5-VL-3B-Instruct", keyLayout: layout };
      await saveCheckpoint(run, ck);
      const cfg = JSON.parse(await Deno.readTextFile(join(run, "adapter_config.json")));
      assert.equal(cfg.peft_type, "LORA");
      assert.equal(cfg.task_type, "CAUSAL_LM");
      assert.equal(cfg.r, ck.config.lora.rank);
      assert.equal(cfg.lora_alpha, ck.config.lora.alpha);
      assert.equal(cfg.lora_dropout, ck.config.lora.dropout);
      assert.deepEqual(cfg.target_modules, ["q_proj", "k_proj", "v_proj", "o_proj"]);
      assert.equal(cfg.base_model_name_or_path, "/models/Qwen2.5-VL-3B-Instruct");
      const lora = decodeSafetensors(await Deno.readFile(join(run, "adapter_model.safetensors"))).tensors;
      assert.deepEqual([...lora.keys()], [`${prefix}.self_attn.q_proj.lora_A.weight`]);
      assert.deepEqual(lora.get(`${prefix}.self_attn.q_proj.lora_A.weight`)!.data, [...ck.adapters.values()][0].data);
      const heads = decodeSafetensors(await Deno.readFile(join(run, "heads.safetensors"))).tensors;
      assert.deepEqual([...heads.keys()], ["correspondence_heads.0.fc1.weight"]);
      assertSameCheckpoint(await loadCheckpoint(run), ck);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a checkpoint write that throws mid-way is never latest and leaves no partial directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rng = new Rng(41);
    const first = makeCheckpoint(100, rng);
    await saveCheckpoint(dir, first);
    for (const failAt of ["adapters.safetensors", "optimizer.safetensors", "state.json", "manifest.json"]) {
      await assert.rejects(
        saveCheckpoint(dir, makeCheckpoint(200, rng), {
          afterFile: (f) => {
            if (f === failAt) throw new Error(`simulated crash after ${f}`);
          },
        }),
        /simulated crash/,
      );
      assert.equal(await latestCheckpointDir(dir), join(dir, checkpointName(100)), failAt);
      assertSameCheckpoint(await loadCheckpoint(dir), first);
    }
    const entries = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(entries, [
      "adapter_config.json",
      "adapter_model.safetensors",
      "heads.safetensors",
      "latest",
      "step-000100",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a killed write (tmp directory left behind, never renamed) is ignored; the next save still commits", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rng = new Rng(42);
    const first = makeCheckpoint(100, rng);
    await saveCheckpoint(dir, first);
    // What a kill -9 between files leaves: a tmp dir with some files and no manifest.
    const tmp = join(dir, "step-000200.tmp-deadbeef");
    await Deno.mkdir(tmp);
    await Deno.writeTextFile(join(tmp, "config.json"), "{}");
    assertSameCheckpoint(await loadCheckpoint(dir), first);
    const second = makeCheckpoint(200, rng);
    await saveCheckpoint(dir, second);
    assertSameCheckpoint(await loadCheckpoint(dir), second);
    // Re-saving an existing step replaces it.
    const again = makeCheckpoint(200, rng);
    await saveCheckpoint(dir, again);
    assertSameCheckpoint(await loadCheckpoint(dir), again);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the loader names corrupted, missing and inconsistent files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const stepDir = await saveCheckpoint(dir, makeCheckpoint(5, new Rng(43)));
    const opt = join(stepDir, "optimizer.safetensors");
    const bytes = await Deno.readFile(opt);
    bytes[bytes.length - 1] ^= 0xff;
    await Deno.writeFile(opt, bytes);
    await assert.rejects(
      loadCheckpoint(dir),
      (e: unknown) => e instanceof DataFormatError && /sha256/.test(e.message) && e.file === opt,
    );
    await Deno.remove(opt);
    await assert.rejects(loadCheckpoint(dir), /optimizer\.safetensors.*missing/);
    await Deno.writeTextFile(join(dir, "latest"), "../../etc\n");
    await assert.rejects(loadCheckpoint(dir), DataFormatError);
    await assert.rejects(loadCheckpoint(join(dir, "nothing-here")), /manifest\.json/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("adapter_config.json lists the vision blocks' attn.qkv / attn.proj only when lora.vision adapts them", () => {
  const llm = ["q_proj", "k_proj", "v_proj", "o_proj"];
  assert.deepEqual(peftAdapterConfig({ ...DEFAULT_TRAIN_CONFIG.lora, vision: false }, "b").target_modules, llm);
  assert.deepEqual(peftAdapterConfig({ ...DEFAULT_TRAIN_CONFIG.lora, vision: true }, "b").target_modules, [
    ...llm,
    "attn.qkv",
    "attn.proj",
  ]);
});
