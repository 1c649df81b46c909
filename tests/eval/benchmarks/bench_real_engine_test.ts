/**
 * The benchmark runner end to end with the REAL engine (onnxruntime-web over the tiny model with seeded random
 * weights, exported once for this file) on one small synthetic suite, and `deno task bench`'s no-flag path naming the
 * task to run first when runs/base and runs/gasp do not exist.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createEngine } from "../../../core/engine/load.ts";
import { OrtEngine } from "../../../core/engine/ort_engine.ts";
import { TINY_CONFIG } from "../../../core/model/config.ts";
import { exportHeadFreeModel } from "../../../core/model/export_onnx.ts";
import { initParameters } from "../../../core/model/init.ts";
import { buildTinyTokenizerJson } from "../../../core/text/build_tokenizer.ts";
import { readPredictions } from "../../../eval/benchmarks/runner.ts";
import { runBench } from "../../../eval/benchmarks/bench_run.ts";
import { withTempDir } from "./fixtures.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

Deno.test("bench on synthetic-depth-order with the real engine: predictions, scores, side by side, resume", async () => {
  await withTempDir(async (dir) => {
    const modelDir = join(dir, "base", "export");
    await exportHeadFreeModel(TINY_CONFIG, initParameters(TINY_CONFIG, 3), buildTinyTokenizerJson(), modelDir);
    const le = await createEngine(join(dir, "base"), { executionProvider: "wasm" });
    const engine = le.engine as OrtEngine;
    assert.ok(engine instanceof OrtEngine && !le.standIn);
    try {
      const o = {
        suites: ["synthetic-depth-order"],
        data: {},
        // the same engine under two names: a real side-by-side run whose deltas must be exactly 0
        checkpoints: [{ name: "base", engine }, { name: "gasp", engine }],
        outDir: join(dir, "out"),
        synthetic: { seed: 9, perSuite: 2, imageSize: 56, frames: 2 },
        maxTokens: 4,
      };
      const { report, markdown } = await runBench(o);
      assert.equal(engine.calls, 4, "2 items x 2 checkpoints");
      const preds = await readPredictions(join(dir, "out", "base", "synthetic-depth-order.predictions.jsonl"));
      assert.equal(preds.size, 2);
      for (const p of preds.values()) {
        assert.ok(p.promptTokens > 50, `prompt ${p.promptTokens} tokens holds the image's vision pads`);
        assert.ok(p.completionTokens >= 0 && p.completionTokens <= 4);
        assert.ok(p.timingMs > 0);
      }
      const gasp = await readPredictions(join(dir, "out", "gasp", "synthetic-depth-order.predictions.jsonl"));
      assert.deepEqual([...gasp.values()].map((p) => p.output), [...preds.values()].map((p) => p.output));
      const overall = report.suites.find((s) => s.suite === "synthetic-depth-order")!.metrics
        .find((m) => m.metric === "overall")!;
      assert.equal(overall.deltas.gasp, 0);
      assert.equal(overall.majority, 0.5);
      assert.match(markdown, /\| metric \| majority \| base \| gasp \| Δ gasp \|/);

      await runBench(o);
      assert.equal(engine.calls, 4, "a rerun resumes from the predictions and generates nothing");
    } finally {
      await engine.release();
    }
  });
});

Deno.test("deno task bench with no flags and no trained models says to run deno task train first", async () => {
  await withTempDir(async (dir) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        join(ROOT, "deno.json"),
        "--allow-read",
        "--allow-write",
        "--allow-env",
        join(ROOT, "tasks", "bench.ts"),
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.notEqual(out.code, 0);
    assert.match(err, /no trained model at runs\/base\/export, runs\/gasp\/export/);
    assert.match(err, /Run `deno task train` first/);
  });
});
