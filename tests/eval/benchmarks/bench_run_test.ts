import assert from "node:assert/strict";
import { join } from "node:path";
import { runBench } from "../../../eval/benchmarks/bench_run.ts";
import { checkpointNames } from "../../../eval/benchmarks/results.ts";
import { writeVsiParquet } from "../../../eval/benchmarks/formats_write.ts";
import { promptOf, ScriptedEngine, withTempDir } from "./fixtures.ts";

const small = { seed: 9, perSuite: 4, imageSize: 48, frames: 2 };

Deno.test("bench runs two checkpoints side by side with deltas, and a rerun reuses every answer, saying so", async () => {
  await withTempDir(async (dir) => {
    const always = (t: string) => new ScriptedEngine(() => t);
    const a = always("A"), b = always("B");
    const o = {
      suites: ["synthetic-camera-pose", "synthetic-depth-order"],
      data: {},
      checkpoints: [{ name: "base", engine: a, cacheKey: "a".repeat(64) }, {
        name: "gasp",
        engine: b,
        cacheKey: "b".repeat(64),
      }],
      outDir: dir,
      synthetic: small,
    };
    const { results, markdown } = await runBench(o);
    assert.deepEqual(checkpointNames(results), ["base", "gasp"]);
    const depth = results.suites.find((s) => s.suite === "synthetic-depth-order")!;
    // Depth-order golds alternate A, B, A, B: "always A" and "always B" both score 50 %, Δ 0; majority 50 %.
    assert.equal(depth.checkpoints.base.metrics.overall.strict, 0.5);
    assert.equal(depth.checkpoints.gasp.metrics.overall.strict, 0.5);
    assert.equal(depth.majority.overall, 0.5);
    assert.equal(depth.chance.overall, 0.5);
    assert.match(markdown, /\| metric \| chance \| majority \| base \| gasp \| Δ gasp \|/);
    assert.match(markdown, /\| overall \| 50\.0 \| 50\.0 \| 50\.0 \(50\.0\) \| 50\.0 \(50\.0\) \| \+0\.0 \|/);
    assert.equal(a.calls.length, 8);
    const a2 = always("A");
    const logs: string[] = [];
    const again = await runBench({
      ...o,
      checkpoints: [{ ...o.checkpoints[0], engine: a2 }, o.checkpoints[1]],
      log: (l) => logs.push(l),
    });
    assert.equal(a2.calls.length, 0);
    assert.ok(logs.includes("bench: base · synthetic-depth-order: reused 4 answers, generated 0"), logs.join("\n"));
    assert.equal(again.results.suites[1].checkpoints.base.reused, 4);
    // --no-cache: everything is asked again.
    const a3 = always("A");
    await runBench({ ...o, checkpoints: [{ ...o.checkpoints[0], engine: a3 }, o.checkpoints[1]], reuseCache: false });
    assert.equal(a3.calls.length, 8);
    assert.ok((await Deno.stat(join(dir, "results.json"))).isFile);
    assert.ok((await Deno.stat(join(dir, "report.md"))).isFile);
  });
});

Deno.test("vsi-bias runs VSI with and without the average-size prior and reports the deltas", async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, "vsi.parquet");
    await writeVsiParquet(p, [
      {
        id: 1,
        dataset: "d",
        scene_name: "s",
        question_type: "object_size_estimation",
        question:
          "What is the length of the longest dimension (length, width, or height) of the sofa, measured in centimeters?",
        ground_truth: "200",
        options: null,
      },
      {
        id: 2,
        dataset: "d",
        scene_name: "s",
        question_type: "object_size_estimation",
        question:
          "What is the length of the longest dimension (length, width, or height) of the sofa, measured in centimeters?",
        ground_truth: "220",
        options: null,
      },
    ]);
    await Deno.mkdir(join(dir, "frames", "d", "s"), { recursive: true });
    const { pngBytes } = await import("./fixtures.ts");
    await Deno.writeFile(join(dir, "frames", "d", "s", "0.png"), pngBytes(4, 4, [1, 2, 3]));
    // A "model" that copies the prior when it is given, else says 100.
    const eng = new ScriptedEngine((req) => {
      const m = /average size of a sofa is ([\d.]+)/.exec(promptOf(req));
      return m ? m[1] : "100";
    });
    const { results, markdown } = await runBench({
      suites: ["vsi-bias"],
      data: { vsi: p },
      checkpoints: [{ name: "m", engine: eng }],
      outDir: join(dir, "out"),
      load: { framesDir: join(dir, "frames"), frames: 1 },
    });
    const plain = results.suites.find((s) => s.suite === "vsi")!.checkpoints.m.metrics.object_size_estimation;
    const prior = results.suites.find((s) => s.suite === "vsi+avg-prior")!.checkpoints.m.metrics.object_size_estimation;
    // Without: 100 vs 200/220 → rel .5/.545 → MRA 0.1, 0. With: 210 vs 200 (rel .05 → 1.0) and 220 (rel .045 → 1.0).
    assert.ok(Math.abs(prior.strict! - plain.strict! - (1 - 0.05)) < 1e-9);
    assert.match(
      markdown,
      /## VSI bias probe[^\n]*\n\n\| metric \| m \|\n[^\n]*\n(\|[^\n]*\n)*\| object_size_estimation \| \+95\.0 \|/,
    );
    assert.equal(eng.calls.length, 4);
  });
});
