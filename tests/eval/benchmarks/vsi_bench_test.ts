import assert from "node:assert/strict";
import { join } from "node:path";
import { parquetMetadata, parquetSchema } from "hyparquet";
import { DataFormatError } from "../../../core/errors.ts";
import { type VsiRecord, writeVsiParquet } from "../../../eval/benchmarks/formats_write.ts";
import { scoreSuite } from "../../../eval/benchmarks/suite.ts";
import { VisualResolver } from "../../../eval/benchmarks/visuals.ts";
import { vsiBench } from "../../../eval/benchmarks/vsi_bench.ts";
import { computeVsiPriors, priorText, withPriors } from "../../../eval/benchmarks/vsi_bias_probe.ts";
import { decodeImage } from "../../../eval/benchmarks/images.ts";
import { makeMp4, withTempDir } from "./fixtures.ts";

const DIR_OPTS = ["A. front-left", "B. front-right", "C. back-left", "D. back-right"];

function rows(): VsiRecord[] {
  const base = { dataset: "arkitscenes", scene_name: "47430468" };
  return [
    {
      id: 166,
      ...base,
      question_type: "object_counting",
      question: "How many chair(s) are in this room?",
      ground_truth: "4",
      options: null,
    },
    {
      id: 167,
      ...base,
      question_type: "object_size_estimation",
      question:
        "What is the length of the longest dimension (length, width, or height) of the sofa, measured in centimeters?",
      ground_truth: "200",
      options: null,
    },
    {
      id: 168,
      ...base,
      question_type: "object_rel_direction_easy",
      question: "If I am standing by the tv and facing the bed, is the chair to my left or right?",
      ground_truth: "A",
      options: ["A. left", "B. right"],
    },
    {
      id: 169,
      ...base,
      question_type: "object_rel_direction_hard",
      question:
        "If I am standing by the tv and facing the bed, is the chair to my front-left, front-right, back-left, or back-right?",
      ground_truth: "C",
      options: DIR_OPTS,
    },
    {
      id: 170,
      ...base,
      question_type: "room_size_estimation",
      question: "What is the size of this room (in square meters)?",
      ground_truth: "20",
      options: null,
    },
  ];
}

Deno.test("VSI parquet written with real column types: id INT64, options a LIST of UTF8 strings", async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, "test-00000-of-00001.parquet");
    await writeVsiParquet(p, rows());
    const bytes = await Deno.readFile(p);
    const schema = parquetSchema(parquetMetadata(bytes.buffer as ArrayBuffer));
    const byName = Object.fromEntries(schema.children.map((c) => [c.element.name, c]));
    assert.equal(byName.id.element.type, "INT64");
    assert.equal(byName.options.element.converted_type, "LIST");
    assert.equal(byName.options.children[0].children[0].element.converted_type, "UTF8");
  });
});

Deno.test("VSI loads parquet + mp4, decodes evenly spaced frames with ffmpeg and builds the lmms-eval prompts", async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, "test-00000-of-00001.parquet");
    await writeVsiParquet(p, rows());
    await Deno.mkdir(join(dir, "arkitscenes"));
    await makeMp4(join(dir, "arkitscenes", "47430468.mp4"), 10);
    const items = await vsiBench.load(p, { frames: 4 });
    assert.equal(items.length, 5);
    assert.equal(
      items[0].prompt,
      "These are frames of a video.\nHow many chair(s) are in this room?\nPlease answer the question using a single word or phrase.",
    );
    assert.equal(
      items[2].prompt,
      "These are frames of a video.\nIf I am standing by the tv and facing the bed, is the chair to my left or right?\n" +
        "Options:\nA. left\nB. right\nAnswer with the option's letter from the given choices directly.",
    );
    assert.deepEqual(items[3].choices, { A: "front-left", B: "front-right", C: "back-left", D: "back-right" });
    const frames = await new VisualResolver().resolve(items[0]);
    assert.equal(frames.length, 4);
    // Frames 0, 3, 6, 9 of 10 (linspace truncated): red channel 0, 30, 60, 90 (± codec error).
    const reds = frames.map((f) => decodeImage(f.bytes, "x", "y").rgb[0]);
    for (const [k, want] of [0, 30, 60, 90].entries()) {
      assert.ok(Math.abs(reds[k] - want) <= 6, `frame ${k}: ${reds[k]}`);
    }
  });
});

Deno.test("VSI scores: fuzzy_matching + exact match / MRA strictly, robust beside; 8-task mean with directions averaged", async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, "t.parquet");
    await writeVsiParquet(p, rows());
    const items = await vsiBench.load(p, { framesDir: dir });
    const out = new Map([
      ["166", "3.5 chairs"], // MRA(3.5, 4) = 0.8 both ways
      ["167", "About 210 cm"], // strict: "About" → no float → 0; robust 210: rel .05 → 1.0
      ["168", "A."], // strict ✓ robust ✓
      ["169", "(C)"], // strict: "(C)" ≠ "c" ✗; robust ✓
      ["170", "20"], // 1
    ]);
    const { scores } = scoreSuite(vsiBench, items, out);
    assert.equal(scores.strict.object_counting, 0.8);
    assert.equal(scores.strict.object_size_estimation, 0);
    assert.equal(scores.robust.object_size_estimation, 1);
    assert.equal(scores.strict.object_rel_direction, 0.5);
    assert.equal(scores.robust.object_rel_direction, 1);
    // tasks present: counting .8, size 0, room 1, rel-direction .5 → overall 2.3 / 4.
    assert.ok(Math.abs(scores.strict.overall - 2.3 / 4) < 1e-12);
    assert.ok(Math.abs(scores.robust.overall - 3.8 / 4) < 1e-12);
  });
});

Deno.test("VSI names the row and field of a malformed file; a missing column or video is an error too", async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, "t.parquet");
    const bad = rows();
    bad[3] = { ...bad[3], ground_truth: "front-left" };
    await writeVsiParquet(p, bad);
    await assert.rejects(
      vsiBench.load(p, { framesDir: dir }),
      /t\.parquet: field row 3: ground_truth: expected an option letter/,
    );
    const bad2 = rows();
    bad2[1] = { ...bad2[1], question_type: "object_height" };
    await writeVsiParquet(p, bad2);
    await assert.rejects(vsiBench.load(p, { framesDir: dir }), (e: Error) => {
      assert.ok(e instanceof DataFormatError);
      assert.equal(e.field, "row 1: question_type");
      return true;
    });
    await writeVsiParquet(p, rows());
    await assert.rejects(
      vsiBench.load(p),
      /row 0: dataset\/scene_name: expected a video at .*arkitscenes\/47430468\.mp4/,
    );
    // A parquet without the options column.
    const { parquetWriteBuffer } = await import("hyparquet-writer");
    await Deno.writeFile(
      p,
      new Uint8Array(parquetWriteBuffer({ columnData: [{ name: "id", data: [1n], type: "INT64" }] })),
    );
    await assert.rejects(vsiBench.load(p), /field dataset: expected a column of that name/);
  });
});

Deno.test("VSI bias probe adds the dataset's average sizes to questions that mention them", async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, "t.parquet");
    await writeVsiParquet(p, rows());
    const items = await vsiBench.load(p, { framesDir: dir });
    const priors = computeVsiPriors(items);
    assert.deepEqual([...priors.objectSizeCm], [["sofa", 200]]);
    assert.equal(priors.roomSizeM2, 20);
    assert.equal(priorText(items[0], priors), "");
    const probed = withPriors(items, priors);
    assert.equal(
      probed[1].prompt,
      "These are frames of a video.\nWhat is the length of the longest dimension (length, width, or height) of the sofa, " +
        "measured in centimeters?\nThe average size of a sofa is 200.00 centimeters. Use this information to guide your " +
        "estimate.\nPlease answer the question using a single word or phrase.",
    );
    assert.match(probed[4].prompt, /The average room size is 20\.0 square meters\./);
    assert.equal(probed[0].prompt, items[0].prompt);
  });
});
