/**
 * The no-flag pipeline (train/pipeline.ts) on a small dataset and a toy base: it trains the sft-general control and
 * GASP from the same base, with the same steps, batch and seed, and pck.json names all three runs.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadCheckpoint } from "../../train/checkpoint.ts";
import { resolveTrainConfig, sftGeneralControlConfig } from "../../train/config.ts";
import { defaultPipeline } from "../../train/pipeline.ts";
import { makeDataAndBase } from "./_run_fixtures.ts";

Deno.test("sftGeneralControlConfig keeps steps, batch, seed, LoRA and optimizer and drops only the geometric parts", () => {
  const gasp = resolveTrainConfig({ overrides: { steps: 37, seed: 9, batch: 3, lora: { rank: 4, alpha: 8 } } });
  const c = sftGeneralControlConfig(gasp);
  assert.equal(c.preset, "sft-general");
  assert.equal(c.data.correspondence, "none");
  assert.equal(c.loss.lambdaC + c.loss.lambdaD, 0);
  assert.deepEqual([c.steps, c.seed, c.batch, c.stage], [37, 9, 3, "gasp"]);
  assert.deepEqual(c.lora, gasp.lora);
  assert.deepEqual(c.optim, gasp.optim);
});

Deno.test("defaultPipeline with controlOut trains sft-general and GASP on the same base and records both in pck.json", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gasp-pipeline-" });
  try {
    const { data, base } = await makeDataAndBase(dir);
    const out = join(dir, "gasp"), control = join(dir, "sft-general");
    const config = resolveTrainConfig({
      overrides: { steps: 2, batch: 2, checkpointEvery: 2, seed: 3, data: { framesPerItem: 2 } },
    });
    const lines: string[] = [];
    await defaultPipeline(config, {
      dataDir: data,
      dataGiven: true,
      baseDir: base,
      baseGiven: true,
      out,
      controlOut: control,
      pckSequences: 1,
      log: (l) => lines.push(l),
    });
    const g = await loadCheckpoint(out), c = await loadCheckpoint(control);
    assert.equal(c.config.preset, "sft-general");
    assert.equal(g.config.preset, "full");
    assert.deepEqual([c.step, c.config.seed, c.config.batch], [g.step, g.config.seed, g.config.batch]);
    assert.equal(c.base.model, g.base.model);
    assert.ok(existsSync(join(control, "export")), "the control is exported for deno task bench");
    const pck = JSON.parse(await Deno.readTextFile(join(out, "pck.json")));
    assert.deepEqual(pck.runs, { base, gasp: out, control });
    assert.equal(pck.control.preset, "sft-general");
    assert.equal(pck.control.steps, 2);
    assert.ok(typeof pck.control.lm === "number" && pck.control.lm > 0);
    for (const k of ["before", "after", "lmBefore", "lmAfter", "sequences", "heldout"]) assert.ok(k in pck, k);
    assert.ok(lines.some((l) => l.includes("sft-general control")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
