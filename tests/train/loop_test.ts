import assert from "node:assert/strict";
import { join } from "node:path";
import { initParameters } from "../../core/model/init.ts";
import { buildTinyTokenizerJson } from "../../core/text/build_tokenizer.ts";
import { resolveTrainConfig, type TrainConfig } from "../../train/config.ts";
import { train } from "../../train/loop.ts";
import { writeModelFolder } from "../../core/model/folder/model_folder.ts";
import { readMetrics } from "../../train/metrics_log.ts";
import { latestCheckpointDir } from "../../core/model/folder/checkpoint_files.ts";
import { TOY_CONFIG, toySequences } from "./_toy.ts";

const tokenizerJson = buildTinyTokenizerJson(0);
const sequences = toySequences(2, 3);

async function withBase<T>(fn: (dir: string, baseDir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    const baseDir = join(dir, "base");
    await writeModelFolder(baseDir, { config: TOY_CONFIG, weights: initParameters(TOY_CONFIG, 0), tokenizerJson });
    return await fn(dir, baseDir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function toyConfig(over: Record<string, unknown>): TrainConfig {
  return resolveTrainConfig({
    preset: "full",
    overrides: {
      lora: { rank: 4, alpha: 8, dropout: 0.1 },
      head: { layers: "all" },
      data: { framesPerItem: 3 },
      optim: { lr: 5e-3 },
      ...over,
    },
  });
}

const quiet = () => {};

Deno.test("resume: 2k steps straight equals k steps, stop, resume k steps (loss within 1e-5, same step count)", async () => {
  await withBase(async (dir, baseDir) => {
    const k = 2;
    const config = toyConfig({ steps: 2 * k, batch: 2, checkpointEvery: k });
    const common = { sequences, baseDir, log: quiet, exportModel: false };
    const straightLog: string[] = [], resumedLog: string[] = [];
    const straight = await train(config, { ...common, out: join(dir, "a"), log: (l) => straightLog.push(l) });
    const first = await train(config, { ...common, out: join(dir, "b"), maxSteps: k });
    assert.equal(first.step, k);
    assert.ok(await latestCheckpointDir(join(dir, "b")));
    const resumed = await train(config, {
      ...common,
      out: join(dir, "b"),
      resume: join(dir, "b"),
      log: (l) => resumedLog.push(l),
    });
    // The heads' SVD init runs once, at the run's start; a resumed run takes the heads from its checkpoint.
    assert.ok(straightLog.some((l) => /heads \(\d+ layers\): SVD init from W_Q/.test(l)), straightLog.join("\n"));
    assert.ok(resumedLog.some((l) => /restored from the checkpoint, SVD of W_Q not recomputed/.test(l)));
    assert.ok(!resumedLog.some((l) => /SVD init from W_Q/.test(l)));
    assert.equal(resumed.step, straight.step);
    assert.equal(resumed.history.length, k);
    const a = straight.history.at(-1)!.loss, b = resumed.history.at(-1)!.loss;
    for (const key of ["total", "lm", "corr", "depth"] as const) {
      assert.ok(Math.abs(a[key] - b[key]) <= 1e-5, `${key}: straight ${a[key]} vs resumed ${b[key]}`);
    }
    // metrics.jsonl of the resumed run has one record per step, as the straight run's.
    const steps = (await readMetrics(join(dir, "b", "metrics.jsonl"))).filter((r) => r.type === "step");
    assert.deepEqual(steps.map((r) => r.type === "step" && r.step), [1, 2, 3, 4]);
    for (const r of [straight, first, resumed]) r.model.dispose();
  });
});

Deno.test("smoke: a few GASP steps on a 2-sequence toy dataset lower the loss and export the merged model", async () => {
  await withBase(async (dir, baseDir) => {
    // Correspondence items only: the same two sequences every step, so the loss curve is not QA sampling noise.
    const config = toyConfig({
      steps: 8,
      batch: 2,
      checkpointEvery: 8,
      data: { generalQaFraction: 0, framesPerItem: 3 },
    });
    const r = await train(config, { sequences, baseDir, log: quiet, out: join(dir, "run") });
    const h = r.history;
    assert.equal(h.length, 8);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const early = mean(h.slice(0, 2).map((m) => m.loss.total)), late = mean(h.slice(-2).map((m) => m.loss.total));
    assert.ok(late < 0.8 * early, `L_total should drop by > 20 %: first steps ${early}, last steps ${late}`);
    assert.ok(h.every((m) => Number.isFinite(m.gradNorm) && m.gradNorm > 0));
    assert.ok((await Deno.stat(join(dir, "run", "export", "decoder.onnx"))).size > 0);
    for (const f of ["loss.svg", "loss.png"]) assert.ok((await Deno.stat(join(dir, "run", f))).size > 0, f);
    r.model.dispose();
  });
});
