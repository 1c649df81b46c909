import assert from "node:assert/strict";
import { join } from "node:path";
import { runBench } from "../../../eval/benchmarks/bench_run.ts";
import { writeVsiParquet } from "../../../eval/benchmarks/formats_write.ts";
import { promptOf, ScriptedEngine, withTempDir } from "./fixtures.ts";

const small = { seed: 9, perSuite: 4, imageSize: 48, frames: 2 };

Deno.test("bench runs two checkpoints side by side with deltas, and a rerun generates nothing", async () => {
  await withTempDir(async (dir) => {
    const always = (t: string) => new ScriptedEngine(() => t);
    const a = always("A"), b = always("B");
    const o = {
      suites: ["synthetic-camera-pose", "synthetic-depth-order"],
      data: {},
      checkpoints: [{ name: "base", engine: a }, { name: "gasp", engine: b }],
      outDir: dir,
      synthetic: small,
    };
    const { report, markdown } = await runBench(o);
    assert.deepEqual(report.checkpoints, ["base", "gasp"]);
    const depth = report.suites.find((s) => s.suite === "synthetic-depth-order")!;
    const overall = depth.metrics.find((m) => m.metric === "overall")!;
    // Depth-order golds alternate A, B, A, B: "always A" and "always B" both score 50 %, Δ 0; majority 50 %.
    assert.equal(overall.values.base.strict, 0.5);
    assert.equal(overall.values.gasp.strict, 0.5);
    assert.equal(overall.deltas.gasp, 0);
    assert.equal(overall.majority, 0.5);
    assert.match(markdown, /\| metric \| majority \| base \| gasp \| Δ gasp \|/);
    assert.equal(a.calls.length, 8);
    const a2 = always("A");
    await runBench({ ...o, checkpoints: [{ name: "base", engine: a2 }, { name: "gasp", engine: b }] });
    assert.equal(a2.calls.length, 0);
    assert.ok((await Deno.stat(join(dir, "report.json"))).isFile);
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
    const { report } = await runBench({
      suites: ["vsi-bias"],
      data: { vsi: p },
      checkpoints: [{ name: "m", engine: eng }],
      outDir: join(dir, "out"),
      load: { framesDir: join(dir, "frames"), frames: 1 },
    });
    const delta = report.suites.find((s) => s.suite.startsWith("vsi bias probe"))!;
    const size = delta.metrics.find((m) => m.metric === "object_size_estimation")!;
    // Without: 100 vs 200/220 → rel .5/.545 → MRA 0.1, 0. With: 210 vs 200 (rel .05 → 1.0) and 220 (rel .045 → 1.0).
    assert.ok(Math.abs(size.values.m.strict! - (1 - 0.05)) < 1e-9);
    assert.equal(eng.calls.length, 4);
  });
});
