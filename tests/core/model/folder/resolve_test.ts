import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../../../../core/errors.ts";
import { loadModel } from "../../../../core/model/folder/load.ts";
import { resolveModelDir } from "../../../../core/model/folder/resolve.ts";
import { initGpu } from "../../../../core/runtime.ts";
import { mergeLoraIntoWeights } from "../../../../train/lora.ts";
import { makeToyRuns } from "./_runs.ts";

await initGpu();

Deno.test("resolveModelDir tells a run, its export, a model folder and a step checkpoint apart; loadModel reads each", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const runs = await makeToyRuns(dir);
    const g = runs.gaspResult;
    const baseWeights = (await loadModel(resolveModelDir(runs.base))).weights;
    const merged = await mergeLoraIntoWeights(baseWeights, g.lora, { rank: 4, alpha: 8, dropout: 0, targets: [] });

    // an unfinished GASP run resolves to its latest checkpoint; the checkpoint is the base with the LoRA folded in
    const run = resolveModelDir(runs.gasp);
    assert.deepEqual([run.kind, run.source, run.exportDir, run.label], [
      "run",
      { format: "checkpoint", dir: join(runs.gasp, "step-000001") },
      null,
      "gasp@step-000001",
    ]);
    const step = resolveModelDir(join(runs.gasp, "step-000001"));
    assert.deepEqual([step.kind, step.label], ["checkpoint", "gasp@step-000001"]);
    const fromCheckpoint = await loadModel(step);
    assert.deepEqual([...fromCheckpoint.weights.keys()].sort(), [...merged.keys()].sort());
    let changed = 0;
    for (const [n, w] of merged) {
      assert.deepEqual(fromCheckpoint.weights.get(n), w, n);
      if (w !== baseWeights.get(n)) changed++;
    }
    assert.equal(changed, 2 * 4, "q, k, v, o of both layers carry a merged adapter");

    // a model folder, with and without an export beside it
    const base = resolveModelDir(runs.base);
    assert.deepEqual([base.kind, base.source.format, base.exportDir, base.label], [
      "model-folder",
      "model-folder",
      null,
      "base",
    ]);
    const baseRun = resolveModelDir(runs.baseRun);
    assert.deepEqual([baseRun.kind, baseRun.exportDir], ["model-folder", join(runs.baseRun, "export")]);

    // a finished run's export, and the export folder itself
    const exp = resolveModelDir(join(runs.baseRun, "export"));
    assert.deepEqual([exp.kind, exp.label], ["export", "base-run"]);
    const trained = await runs.baseRunResult.model.toWeights();
    const fromExport = await loadModel(exp);
    for (const [n, w] of trained) assert.deepEqual(fromExport.weights.get(n), w, n);

    // a --stage base checkpoint holds every parameter; its architecture comes from the finished run folder
    const baseStep = await loadModel(resolveModelDir(join(runs.baseRun, "step-000001")));
    assert.deepEqual(baseStep.config, fromExport.config);
    for (const [n, w] of trained) assert.deepEqual(baseStep.weights.get(n), w, n);

    // a run folder holding an export but no model files resolves to the export
    await Deno.mkdir(join(dir, "only-export"));
    await Deno.rename(join(runs.baseRun, "export"), join(dir, "only-export", "export"));
    const onlyExport = resolveModelDir(join(dir, "only-export"));
    assert.deepEqual([onlyExport.kind, onlyExport.source.format, onlyExport.label], ["run", "export", "only-export"]);

    for (const r of [g, runs.baseRunResult]) r.model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resolveModelDir names a missing path and a folder that holds no model", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.throws(
      () => resolveModelDir(join(dir, "nope")),
      (e: unknown) => e instanceof ConfigError && e.message.includes("does not exist"),
    );
    assert.throws(
      () => resolveModelDir(dir, "--base"),
      (e: unknown) =>
        e instanceof ConfigError && e.message.includes("--base") && e.message.includes(`${dir} is not a model`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
