/**
 * The benchmark runner end to end with the REAL engine (onnxruntime-web over the tiny model with seeded random
 * weights, exported once for this file) on one small synthetic suite, and `deno task bench`'s no-flag path naming the
 * task to run first when runs/base and runs/gasp do not exist.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { OrtEngine } from "../../../core/engine/ort_engine.ts";
import { TINY_CONFIG } from "../../../core/model/config.ts";
import { exportHeadFreeModel } from "../../../core/model/export_onnx.ts";
import { initParameters } from "../../../core/model/init.ts";
import { buildTinyTokenizerJson } from "../../../core/text/build_tokenizer.ts";
import { runBench } from "../../../eval/benchmarks/bench_run.ts";
import { loadBenchModel } from "../../../eval/benchmarks/models.ts";
import { withTempDir } from "./fixtures.ts";
import { runTask } from "../../tasks/_task.ts";

Deno.test("bench on synthetic-depth-order with the real engine: predictions, scores, side by side, resume", async () => {
  await withTempDir(async (dir) => {
    const modelDir = join(dir, "base", "export");
    await exportHeadFreeModel(TINY_CONFIG, initParameters(TINY_CONFIG, 3), buildTinyTokenizerJson(), modelDir);
    const m = await loadBenchModel(join(dir, "base"), { executionProvider: "wasm" });
    const engine = m.engine as OrtEngine;
    assert.ok(engine instanceof OrtEngine);
    assert.equal(m.name, "base");
    assert.equal(m.model!.path, modelDir);
    assert.match(m.model!.sha256, /^[0-9a-f]{64}$/);
    try {
      const o = {
        suites: ["synthetic-depth-order"],
        data: {},
        // the same engine under two names (and cache keys): a real side-by-side run whose deltas must be exactly 0
        checkpoints: [m, { ...m, name: "gasp", cacheKey: "0".repeat(64) }],
        outDir: join(dir, "out"),
        synthetic: { seed: 9, perSuite: 2, imageSize: 56, frames: 2 },
        maxTokens: 4,
      };
      const { results, markdown } = await runBench(o);
      assert.equal(engine.calls, 4, "2 items x 2 checkpoints");
      const read = async (ck: string) =>
        (await Deno.readTextFile(join(dir, "out", ck, "synthetic-depth-order.predictions.jsonl"))).trim().split("\n")
          .map((l) => JSON.parse(l));
      const preds = await read("base");
      assert.equal(preds.length, 2);
      for (const p of preds) {
        assert.ok(p.promptTokens > 50, `prompt ${p.promptTokens} tokens holds the image's vision pads`);
        assert.ok(p.completionTokens >= 0 && p.completionTokens <= 4);
        assert.ok(p.timingMs > 0);
      }
      const gasp = await read("gasp");
      assert.deepEqual(gasp.map((p) => p.output), preds.map((p) => p.output));
      const suite = results.suites.find((s) => s.suite === "synthetic-depth-order")!;
      assert.equal(suite.checkpoints.gasp.metrics.overall.strict, suite.checkpoints.base.metrics.overall.strict);
      assert.equal(suite.majority.overall, 0.5);
      assert.equal(suite.checkpoints.base.model!.sha256, m.model!.sha256);
      assert.match(markdown, /\| metric \| chance \| majority \| base \| gasp \| Δ gasp \|/);

      await runBench(o);
      assert.equal(engine.calls, 4, "a rerun takes every answer from the cache and generates nothing");
    } finally {
      await m.release();
    }
  });
});

Deno.test("deno task bench with no flags and no trained models says to run deno task train first", async () => {
  await withTempDir(async (dir) => {
    const out = await runTask("bench", [], dir);
    const err = out.stderr;
    assert.equal(out.code, 2, err);
    assert.match(err, /no trained model at runs\/base\/export, runs\/sft-general\/export, runs\/gasp\/export/);
    assert.match(
      err,
      /Make the missing ones with `deno task train --stage base`, `deno task train --preset sft-general`/,
    );
    assert.doesNotMatch(err, /corr-only\/export/, "corr-only is optional");
  });
});
