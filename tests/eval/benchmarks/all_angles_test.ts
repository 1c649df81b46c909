import assert from "node:assert/strict";
import { join } from "node:path";
import { DataFormatError } from "../../../core/errors.ts";
import { allAngles } from "../../../eval/benchmarks/all_angles.ts";
import { type AllAnglesJsonRecord, writeAllAnglesDataset } from "../../../eval/benchmarks/formats_write.ts";
import { scoreSuite } from "../../../eval/benchmarks/suite.ts";
import { VisualResolver } from "../../../eval/benchmarks/visuals.ts";
import { jpegBytes, pngBytes, withTempDir } from "./fixtures.ts";

function record(i: number, category: string, answer: string): AllAnglesJsonRecord {
  return {
    index: i,
    folder: "1001_tagging",
    category,
    pair_idx: `p${i}`,
    sourced_dataset: "EgoHumans",
    image_path: ["egohumans_scenes/1001_tagging/cam01.jpg", "egohumans_scenes/1001_tagging/cam02.png"],
    question: "How many people are there? A. 2, B. 3, C. 4",
    A: "2",
    B: "3",
    C: "4",
    answer,
  };
}

async function fixture(dir: string, records: unknown[]): Promise<void> {
  await writeAllAnglesDataset(
    dir,
    records as AllAnglesJsonRecord[],
    new Map([
      ["egohumans_scenes/1001_tagging/cam01.jpg", jpegBytes(8, 6, [200, 10, 10])],
      ["egohumans_scenes/1001_tagging/cam02.png", pngBytes(8, 6, [10, 200, 10])],
    ]),
  );
}

Deno.test("All-Angles loads data.json, builds the VLMEvalKit prompt and resolves images in order", async () => {
  await withTempDir(async (dir) => {
    await fixture(dir, [record(0, "counting", "B"), record(1, "camera_pose_estimation", "A")]);
    const items = await allAngles.load(dir);
    assert.equal(items.length, 2);
    assert.equal(
      items[0].prompt,
      "Question: How many people are there? A. 2, B. 3, C. 4\nOptions:\nA. 2\nB. 3\nC. 4\n" +
        "Please select the correct answer from the options above. \n",
    );
    assert.deepEqual(items[0].choices, { A: "2", B: "3", C: "4" });
    const imgs = await new VisualResolver().resolve(items[0]);
    assert.deepEqual(imgs.map((i) => [i.mime, i.width, i.height]), [["image/jpeg", 8, 6], ["image/png", 8, 6]]);
  });
});

Deno.test("All-Angles scores with can_infer (strict) and robust extraction, micro and per category", async () => {
  await withTempDir(async (dir) => {
    await fixture(dir, [
      record(0, "counting", "B"),
      record(1, "counting", "C"),
      record(2, "camera_pose_estimation", "A"),
      record(3, "camera_pose_estimation", "A"),
    ]);
    const items = await allAngles.load(dir);
    const outputs = new Map([
      ["0", "The answer is (B)."], // strict B ✓, robust B ✓
      ["1", "I would say 4"], // strict: text match "4" → C ✓; robust C ✓
      ["2", "The correct choice is (A), not B."], // strict: two letters, no option text ✗; robust: stated A ✓
      ["3", "B"], // ✗ both
    ]);
    const { scores } = scoreSuite(allAngles, items, outputs);
    assert.equal(scores.strict.overall, 0.5);
    assert.equal(scores.robust.overall, 0.75);
    assert.equal(scores.strict.counting, 1);
    assert.equal(scores.strict.camera_pose_estimation, 0);
    assert.equal(scores.robust.camera_pose_estimation, 0.5);
    // Majority baseline: counting golds B, C → "B" wins (first to 1): 1/2; camera pose A, A: 2/2 → micro 3/4.
    assert.equal(scores.majorityBaseline.overall, 0.75);
  });
});

Deno.test("All-Angles names file, row and field for a wrong type, a bad answer and a missing image", async () => {
  await withTempDir(async (dir) => {
    const bad = { ...record(1, "counting", "B"), image_path: "cam01.jpg" };
    await fixture(dir, [record(0, "counting", "B"), bad]);
    await assert.rejects(allAngles.load(dir), (e: Error) => {
      assert.ok(e instanceof DataFormatError);
      assert.equal(e.file, join(dir, "data.json"));
      assert.match(e.field, /^row 1: image_path$/);
      return true;
    });
    await fixture(dir, [record(0, "counting", "D")]);
    await assert.rejects(allAngles.load(dir), /row 0: answer: expected one of A\/B\/C/);
    await fixture(dir, [{ ...record(0, "counting", "A"), image_path: ["egohumans_scenes/missing.jpg"] }]);
    await assert.rejects(allAngles.load(dir), /row 0: image_path\[0\]: expected an image file at/);
    const { question: _q, ...noQuestion } = record(0, "counting", "A");
    await fixture(dir, [noQuestion]);
    await assert.rejects(allAngles.load(dir), /row 0: question/);
  });
});

Deno.test("an unreadable image is a named error when the item's images are resolved", async () => {
  await withTempDir(async (dir) => {
    await fixture(dir, [record(0, "counting", "B")]);
    const png = pngBytes(8, 6, [1, 2, 3]);
    await Deno.writeFile(join(dir, "egohumans_scenes/1001_tagging/cam02.png"), png.subarray(0, 40));
    const [item] = await allAngles.load(dir);
    await assert.rejects(new VisualResolver().resolve(item), (e: Error) => {
      assert.ok(e instanceof DataFormatError);
      assert.match(e.message, /cam02\.png: field row 0: image_path\[1\].*expected a decodable image\/png image/);
      return true;
    });
  });
});
