import assert from "node:assert/strict";
import { join } from "node:path";
import { DataFormatError } from "../../../core/errors.ts";
import { blink, BLINK_SUBTASKS } from "../../../eval/benchmarks/blink.ts";
import { type BlinkRecord, writeBlinkParquet } from "../../../eval/benchmarks/formats_write.ts";
import { scoreSuite } from "../../../eval/benchmarks/suite.ts";
import { VisualResolver } from "../../../eval/benchmarks/visuals.ts";
import { jpegBytes, pngBytes, withTempDir } from "./fixtures.ts";

const MV_PROMPT = "The images are frames from a video. The video is shooting a static scene. The camera is either " +
  "moving clockwise (left) or counter-clockwise (right) around the object. The first image is from the beginning of " +
  "the video and the second image is from the end. Is the camera moving left or right when shooting the video? " +
  "Select from the following options.\n(A) left\n(B) right";

function row(subTask: string, n: number, answer: string, images = 2, choices = ["left", "right"]): BlinkRecord {
  const img = (k: number) =>
    k <= images
      ? { bytes: k % 2 ? pngBytes(6, 4, [k * 40, 0, 0]) : jpegBytes(6, 4, [0, k * 40, 0]), path: `img${k}.png` }
      : null;
  return {
    idx: `val_${subTask}_${n}`,
    question: "q",
    sub_task: subTask,
    image_1: img(1)!,
    image_2: img(2),
    image_3: img(3),
    image_4: img(4),
    choices,
    answer,
    prompt: subTask === "Multi-view_Reasoning" ? MV_PROMPT : `Which? Select from the following options.\n(A) x\n(B) y`,
    explanation: "",
  };
}

Deno.test("BLINK reads every subtask's val parquet in the HF folder layout, images from the non-null image_N structs", async () => {
  await withTempDir(async (dir) => {
    for (const st of BLINK_SUBTASKS) {
      await writeBlinkParquet(join(dir, st, "val-00000-of-00001.parquet"), [row(st, 1, "(A)"), row(st, 2, "(B)")]);
      await writeBlinkParquet(join(dir, st, "test-00000-of-00001.parquet"), [row(st, 1, "(A)")]);
    }
    const items = await blink.load(dir);
    assert.equal(items.length, 28);
    assert.deepEqual(new Set(items.map((i) => i.category)), new Set(BLINK_SUBTASKS));
    const mv = items.find((i) => i.id === "val_Multi-view_Reasoning_1")!;
    assert.equal(
      mv.prompt,
      "Note: You only need to respond with A, B without providing any additional information.\n" + MV_PROMPT,
    );
    const imgs = await new VisualResolver().resolve(mv);
    assert.deepEqual(imgs.map((i) => i.mime), ["image/png", "image/jpeg"]);
    assert.equal(mv.gold, "A");
  });
});

Deno.test("BLINK: anchored-regex strict score, robust beside, overall = mean over subtasks, micro beside", async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, "val.parquet");
    await writeBlinkParquet(p, [
      row("Multi-view_Reasoning", 1, "(B)"),
      row("Multi-view_Reasoning", 2, "(B)"),
      row("Multi-view_Reasoning", 3, "(A)"),
      row("Visual_Correspondence", 1, "(C)", 2, ["Point A", "Point B", "Point C", "Point D"]),
    ]);
    const items = await blink.load(p);
    assert.match(items[3].prompt, /^Note: You only need to respond with A, B, C, D without/);
    const { scores } = scoreSuite(
      blink,
      items,
      new Map([
        ["val_Multi-view_Reasoning_1", "(B) right"], // ✓ ✓
        ["val_Multi-view_Reasoning_2", "The answer is (B)."], // strict "T" ✗, robust ✓
        ["val_Multi-view_Reasoning_3", "B"], // ✗ ✗
        ["val_Visual_Correspondence_1", "C"], // ✓ ✓
      ]),
    );
    assert.ok(Math.abs(scores.strict["Multi-view_Reasoning"] - 1 / 3) < 1e-12);
    assert.equal(scores.strict["Visual_Correspondence"], 1);
    assert.ok(Math.abs(scores.strict.overall - (1 / 3 + 1) / 2) < 1e-12);
    assert.equal(scores.strict.micro, 0.5);
    assert.ok(Math.abs(scores.robust.overall - (2 / 3 + 1) / 2) < 1e-12);
    // Majority: MV golds B,B,A → "B" 2/3; VC 1/1 → mean 5/6.
    assert.ok(Math.abs(scores.majorityBaseline.overall - 5 / 6) < 1e-12);
  });
});

Deno.test("BLINK names row and field: answer not '(X)', image bytes that are not an image, missing image_1", async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, "val.parquet");
    await writeBlinkParquet(p, [row("Counting", 1, "(A)"), row("Counting", 2, "A")]);
    await assert.rejects(blink.load(p), /val\.parquet: field row 1: answer: expected a letter in parentheses/);
    const junk = row("Counting", 1, "(A)");
    junk.image_2 = { bytes: new TextEncoder().encode("not an image"), path: "x.png" };
    await writeBlinkParquet(p, [junk]);
    await assert.rejects(blink.load(p), (e: Error) => {
      assert.ok(e instanceof DataFormatError);
      assert.equal(e.field, "row 0: image_2.bytes");
      return true;
    });
    const noImg = row("Counting", 1, "(A)");
    (noImg as unknown as { image_1: null }).image_1 = null;
    await writeBlinkParquet(p, [noImg]);
    await assert.rejects(blink.load(p), /row 0: image_1/);
  });
});
