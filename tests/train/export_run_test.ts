import assert from "node:assert/strict";
import { join } from "node:path";
import { writeShardedSafetensors } from "../../core/io/safetensors_stream.ts";
import { TINY_CONFIG } from "../../core/model/config.ts";
import { foldLora } from "../../core/model/hf_export.ts";
import { openHfWeights } from "../../core/model/hf_weights.ts";
import { initParameters, parameterShapes } from "../../core/model/init.ts";
import { Rng } from "../../core/random.ts";
import { saveCheckpoint } from "../../train/checkpoint.ts";
import { DEFAULT_TRAIN_CONFIG } from "../../train/config.ts";
import { exportRunAsHfFolder } from "../../train/export_run.ts";
import type { NamedTensor } from "../../core/io/safetensors.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const c = TINY_CONFIG;

Deno.test("a run exports as an HF folder: its PEFT adapter folded into its base, heads dropped (library and task)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base = join(dir, "base"), run = join(dir, "run"), out = join(dir, "out");
    const w = initParameters(c, 4);
    await writeShardedSafetensors(
      base,
      [...parameterShapes(c)].map(([name, shape]) => ({
        name,
        shape,
        dtype: "F32" as const,
        values: () => w.get(name)!,
      })),
    );
    await Deno.writeTextFile(join(base, "config.json"), JSON.stringify(c));
    await Deno.writeTextFile(join(base, "tokenizer.json"), "{}");
    const rng = new Rng(5), r = DEFAULT_TRAIN_CONFIG.lora.rank;
    const t = (n: number) => Float32Array.from({ length: n }, () => 0.1 * rng.normal());
    const m = "model.layers.1.self_attn.k_proj";
    const adapters = new Map<string, NamedTensor>([
      [`${m}.lora_A.weight`, { shape: [r, 128], data: t(r * 128) }],
      [`${m}.lora_B.weight`, { shape: [64, r], data: t(64 * r) }],
      ["correspondence_heads.0.fc1.weight", { shape: [2, 2], data: t(4) }],
    ]);
    await saveCheckpoint(run, {
      step: 1,
      config: DEFAULT_TRAIN_CONFIG,
      base: { model: base },
      rng: {},
      adapters,
      optimizer: { step: 1, expAvg: new Map(), expAvgSq: new Map() },
    });
    const res = await exportRunAsHfFolder(run, out);
    assert.equal(res.dtype, "F32");
    const back = await openHfWeights(out, c);
    const scale = DEFAULT_TRAIN_CONFIG.lora.alpha / r;
    const want = foldLora(w.get(`${m}.weight`)!, {
      A: adapters.get(`${m}.lora_A.weight`)!.data,
      B: adapters.get(`${m}.lora_B.weight`)!.data,
      rank: r,
    }, scale);
    assert.deepEqual(await back.read(`${m}.weight`), want);
    assert.notDeepEqual(want, w.get(`${m}.weight`));
    assert.deepEqual(
      await back.read("model.layers.1.self_attn.q_proj.weight"),
      w.get("model.layers.1.self_attn.q_proj.weight"),
    );
    assert(!back.names.some((n) => n.includes("correspondence")));
    back.close();
    const cmd = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        join(ROOT, "tasks/export.ts"),
        "--format",
        "safetensors",
        "--model",
        run,
        "--out",
        join(dir, "task"),
      ],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(cmd.code, 0, new TextDecoder().decode(cmd.stderr));
    assert.deepEqual(
      await Deno.readFile(join(dir, "task", "model.safetensors")),
      await Deno.readFile(join(out, "model.safetensors")),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
