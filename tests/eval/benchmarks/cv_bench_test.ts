import assert from "node:assert/strict";
import { join } from "node:path";
import { cvBench, cvBenchOfficial } from "../../../eval/benchmarks/cv_bench.ts";
import { type CvBenchRecord, writeCvBenchParquet } from "../../../eval/benchmarks/formats_write.ts";
import { scoreSuite } from "../../../eval/benchmarks/suite.ts";
import { pngBytes, withTempDir } from "./fixtures.ts";

function row(idx: number, type: "2D" | "3D", task: string, source: string, answer: string): CvBenchRecord {
  const prompt = "Which object is closer to the camera taking this photo, the lamp (highlighted by a red box) or the " +
    "pillow (highlighted by a blue box)? Select from the following choices.\n(A) lamp\n(B) pillow";
  return {
    idx,
    type,
    task,
    image: { bytes: pngBytes(5, 5, [idx, 0, 0]), path: null },
    question: prompt.split(" Select")[0],
    choices: ["lamp", "pillow"],
    answer,
    prompt,
    filename: `img/${type}/${task.toLowerCase()}/${source.toLowerCase()}_${idx}.png`,
    source,
    source_dataset: source,
    source_filename: `${idx}.jpg`,
    target_class: null,
    target_size: null,
    bbox: null,
  };
}

Deno.test("CV-Bench loads test_2d + test_3d parquet and prefixes the lmms-eval note with a blank line", async () => {
  await withTempDir(async (dir) => {
    await writeCvBenchParquet(join(dir, "test_2d.parquet"), [
      row(0, "2D", "Count", "ADE20K", "(A)"),
      row(1, "2D", "Relation", "COCO", "(B)"),
    ]);
    await writeCvBenchParquet(join(dir, "test_3d.parquet"), [row(0, "3D", "Depth", "Omni3D", "(A)")]);
    const items = await cvBench.load(dir);
    assert.deepEqual(items.map((i) => i.id), ["2D_0", "2D_1", "3D_0"]);
    assert.ok(items[2].prompt.startsWith(
      "Note: You only need to respond with A, B without providing any additional information.\n\nWhich object",
    ));
    assert.equal(items[2].category, "3D/Depth");
  });
});

Deno.test("CV-Bench official score is ½((ADE20K + COCO)/2 + Omni3D); micro accuracy beside", async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, "test.parquet");
    await writeCvBenchParquet(p, [
      row(0, "2D", "Count", "ADE20K", "(A)"),
      row(1, "2D", "Count", "ADE20K", "(A)"),
      row(2, "2D", "Relation", "COCO", "(B)"),
      row(3, "3D", "Depth", "Omni3D", "(A)"),
      row(4, "3D", "Distance", "Omni3D", "(B)"),
      row(5, "3D", "Depth", "Omni3D", "(A)"),
    ]);
    const items = await cvBench.load(p);
    const out = new Map([["2D_0", "A"], ["2D_1", "B"], ["2D_2", "(B)"], ["3D_3", "A"], ["3D_4", "A"], [
      "3D_5",
      "lamp",
    ]]);
    const { scores } = scoreSuite(cvBench, items, out);
    // ADE20K 1/2, COCO 1, Omni3D 1/3 (the "lamp" answer fails the anchored regex: "L" ≠ "A").
    assert.ok(Math.abs(scores.strict.official - 0.5 * ((0.5 + 1) / 2 + 1 / 3)) < 1e-12);
    assert.equal(scores.strict.overall, 0.5);
    assert.ok(Math.abs(scores.robust["source:Omni3D"] - 2 / 3) < 1e-12);
    assert.equal(cvBenchOfficial(new Map([["ADE20K", 1], ["COCO", 1]])), NaN);
  });
});

Deno.test("CV-Bench names row and field of a value outside the schema (type '4D')", async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, "test.parquet");
    const bad = row(0, "4D" as "3D", "Depth", "Omni3D", "(A)");
    await writeCvBenchParquet(p, [bad]);
    await assert.rejects(cvBench.load(p), /test\.parquet: field row 0: type/);
  });
});
