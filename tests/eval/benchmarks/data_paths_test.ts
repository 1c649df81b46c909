/**
 * Issue 15 item 7 on the benchmark files: paths from a data file stay inside the data root (refused otherwise, with
 * no file content in the message), an empty benchmark is an error, and every real suite's --data takes the dataset
 * folder as its Hugging Face snapshot lays it out.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DataFormatError } from "../../../core/errors.ts";
import { allAngles } from "../../../eval/benchmarks/all_angles.ts";
import { runBench } from "../../../eval/benchmarks/bench_run.ts";
import { blink } from "../../../eval/benchmarks/blink.ts";
import { cvBench } from "../../../eval/benchmarks/cv_bench.ts";
import { insideRoot } from "../../../eval/benchmarks/data_root.ts";
import {
  type AllAnglesJsonRecord,
  type CvBenchRecord,
  writeAllAnglesDataset,
  writeBlinkParquet,
  writeCvBenchParquet,
  writeVsiParquet,
} from "../../../eval/benchmarks/formats_write.ts";
import { VisualResolver } from "../../../eval/benchmarks/visuals.ts";
import { vsiBench } from "../../../eval/benchmarks/vsi_bench.ts";
import { makeMp4, pngBytes, ScriptedEngine, withTempDir, writeBlinkFixture } from "./fixtures.ts";
import { runTask } from "../../tasks/_task.ts";

const SECRET = "TOP-SECRET-CONTENT root:x:0:0";
const hexOf = (s: string) =>
  [...new TextEncoder().encode(s).subarray(0, 4)].map((x) => x.toString(16).padStart(2, "0")).join(" ");

/** The message of the error `p` rejects with; asserts it is a DataFormatError and shows none of `secret`. */
async function refusal(p: Promise<unknown>, secret = SECRET): Promise<string> {
  let msg = "";
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof DataFormatError, `${e}`);
    msg = e.message;
    return true;
  });
  assert.ok(!msg.includes(secret.slice(0, 10)), `the message shows file content: ${msg}`);
  assert.ok(!msg.includes(hexOf(secret)), `the message shows file bytes as hex: ${msg}`);
  return msg;
}

function record(i: number, paths: string[]): AllAnglesJsonRecord {
  return {
    index: i,
    folder: "1001_tagging",
    category: "counting",
    pair_idx: "0",
    sourced_dataset: "EgoHumans",
    image_path: paths,
    question: "How many people? A. 1, B. 2, C. 3",
    A: "1",
    B: "2",
    C: "3",
    answer: "A",
  };
}

const vsiRow = (id: number, dataset: string, scene: string) => ({
  id,
  dataset,
  scene_name: scene,
  question_type: "object_counting",
  question: "How many chair(s) are in this room?",
  ground_truth: "4",
  options: null,
});

Deno.test("insideRoot refuses absolute paths, NUL bytes and .. that climbs out; keeps paths inside", () => {
  const root = "/data/aab";
  assert.equal(insideRoot(root, ["scenes/a/../b.png"], "f", "x"), "/data/aab/scenes/b.png");
  assert.equal(insideRoot(root, ["arkitscenes", "123.mp4"], "f", "x"), "/data/aab/arkitscenes/123.mp4");
  for (
    const parts of [["../../../../etc/passwd"], ["/etc/passwd"], ["a/../../aab2/x"], ["..", "x"], ["ok\0.png"], [
      "x",
      "../..",
    ], ["."]]
  ) {
    assert.throws(() => insideRoot(root, parts, "data.json", "row 0: image_path[0]"), (e: Error) => {
      assert.ok(e instanceof DataFormatError);
      assert.match(
        e.message,
        /data\.json: field row 0: image_path\[0\]: expected a path inside the data root \/data\/aab/,
      );
      return true;
    }, parts.join("/"));
  }
});

Deno.test("All-Angles refuses image paths that leave the dataset folder, printing none of the target's bytes", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "All-Angles-Bench");
    await Deno.writeTextFile(join(dir, "secret.png"), SECRET);
    const good = "egohumans_scenes/1001_tagging/cam01.png";
    const images = new Map([[good, pngBytes(4, 4, [1, 2, 3])]]);
    for (const bad of ["../secret.png", "../../../../etc/passwd", join(dir, "secret.png"), "/etc/passwd"]) {
      await writeAllAnglesDataset(root, [record(0, [good]), record(1, [good, bad])], images);
      const msg = await refusal(allAngles.load(root));
      assert.match(msg, /data\.json: field row 1: image_path\[1\]: expected a path inside the data root/);
      assert.ok(msg.includes(JSON.stringify(bad)), msg);
    }
    // /etc/passwd's first bytes never appear, also when the refusal goes through `deno task bench`.
    const passwd = await Deno.readTextFile("/etc/passwd").catch(() => SECRET);
    await writeAllAnglesDataset(root, [record(0, [good, "../../../../../../../../etc/passwd"])], images);
    const r = await runTask(
      "bench",
      ["--stand-in", "--suite", "all-angles", "--data", root, "--out", join(dir, "out")],
      dir,
    );
    const err = r.stderr + r.stdout;
    assert.equal(r.code, 1, err);
    assert.match(err, /expected a path inside the data root/);
    assert.ok(!err.includes(passwd.split("\n")[0]) && !err.includes(hexOf(passwd)), err);
  });
});

Deno.test("a file inside the root that is no image is refused by length, never by its content", async () => {
  await withTempDir(async (dir) => {
    const p = "scenes/cam01.png";
    await writeAllAnglesDataset(dir, [record(0, [p])], new Map([[p, new TextEncoder().encode(SECRET)]]));
    const [item] = await allAngles.load(dir);
    const msg = await refusal(new VisualResolver().resolve(item));
    assert.match(msg, /expected PNG or JPEG image bytes \(got 29 bytes without a PNG or JPEG signature\)/);
  });
});

Deno.test("VSI-Bench refuses dataset / scene_name that lead out of the video and frames folders", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "VSI-Bench");
    await Deno.mkdir(join(root, "arkitscenes"), { recursive: true });
    await Deno.writeTextFile(join(dir, "secret.mp4"), SECRET);
    const p = join(root, "test-00000-of-00001.parquet");
    for (
      const [dataset, scene] of [["arkitscenes", "../../secret"], ["..", "secret"], ["x", "../../../../etc/passwd"]]
    ) {
      await writeVsiParquet(p, [vsiRow(1, dataset, scene)]);
      const msg = await refusal(vsiBench.load(root));
      assert.match(msg, /field row 0: dataset\/scene_name: expected a path inside the data root/);
      const frames = await refusal(vsiBench.load(root, { framesDir: join(root, "frames") }));
      assert.match(frames, /expected a path inside the data root .*frames/);
    }
  });
});

Deno.test("an empty benchmark is an error, not an n/a score", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "aa"));
    await Deno.writeTextFile(join(dir, "aa", "data.json"), "[]");
    await writeVsiParquet(join(dir, "vsi", "test-00000-of-00001.parquet"), []);
    await writeBlinkParquet(join(dir, "blink", "Counting", "val-00000-of-00001.parquet"), []);
    await writeCvBenchParquet(join(dir, "cv", "test_2d.parquet"), []);
    const eng = new ScriptedEngine(() => "A");
    for (const [suite, path] of [["all-angles", "aa"], ["vsi", "vsi"], ["blink", "blink"], ["cv-bench", "cv"]]) {
      await assert.rejects(
        runBench({
          suites: [suite],
          data: { [suite]: join(dir, path) },
          checkpoints: [{ name: "m", engine: eng }],
          outDir: join(dir, "out"),
        }),
        /field \(items\): expected at least one benchmark item \(none found: an empty benchmark has no score\)/,
        suite,
      );
    }
    assert.equal(eng.calls.length, 0);
  });
});

Deno.test("VSI-Bench --data takes the snapshot folder: the parquet beside arkitscenes/, scannet/, scannetpp/", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "VSI-Bench");
    await writeVsiParquet(join(root, "test-00000-of-00001.parquet"), [
      vsiRow(1, "arkitscenes", "41069025"),
      vsiRow(2, "scannet", "scene0011_00"),
      vsiRow(3, "scannetpp", "09c1414f1b"),
    ]);
    await Deno.mkdir(join(root, "arkitscenes"), { recursive: true });
    await makeMp4(join(root, "arkitscenes", "41069025.mp4"), 3);
    for (const [d, s] of [["scannet", "scene0011_00"], ["scannetpp", "09c1414f1b"]]) {
      await Deno.mkdir(join(root, d), { recursive: true });
      await Deno.copyFile(join(root, "arkitscenes", "41069025.mp4"), join(root, d, `${s}.mp4`));
    }
    await Deno.writeTextFile(join(root, "README.md"), "---\nconfigs: …\n---\n");
    const items = await vsiBench.load(root, { frames: 2 });
    assert.deepEqual(items.map((i) => i.id), ["1", "2", "3"]);
    const src = items[1].images[0];
    assert.ok(src.kind === "video" && src.path === join(root, "scannet", "scene0011_00.mp4"));
    assert.equal((await new VisualResolver().resolve(items[0])).length, 2);
    // The parquet file itself still works, and so does a Hugging Face cache snapshot of symlinks into blobs/.
    assert.equal((await vsiBench.load(join(root, "test-00000-of-00001.parquet"))).length, 3);
    const snap = join(dir, "hub", "snapshots", "rev");
    await Deno.mkdir(join(dir, "hub", "blobs"), { recursive: true });
    await Deno.mkdir(snap, { recursive: true });
    await Deno.rename(join(root, "test-00000-of-00001.parquet"), join(dir, "hub", "blobs", "ab12"));
    await Deno.symlink(join("..", "..", "blobs", "ab12"), join(snap, "test-00000-of-00001.parquet"));
    for (const d of ["arkitscenes", "scannet", "scannetpp"]) await Deno.rename(join(root, d), join(snap, d));
    assert.equal((await vsiBench.load(snap)).length, 3);
    // Videos still zipped: the error says to unzip them there.
    await Deno.remove(join(snap, "scannet"), { recursive: true });
    await Deno.writeFile(join(snap, "scannet.zip"), new Uint8Array(4));
    await assert.rejects(
      vsiBench.load(snap),
      /row 1: dataset\/scene_name: expected a video at .*not found: unzip .*scannet\.zip/,
    );
    // A folder with no annotation parquet says what it expected.
    await assert.rejects(vsiBench.load(join(snap, "arkitscenes")), /expected the VSI-Bench dataset folder: test-00000/);
  });
});

Deno.test("All-Angles, BLINK and CV-Bench --data take their snapshot folders as laid out on the Hub", async () => {
  await withTempDir(async (dir) => {
    // All-Angles: data.json beside the scene folders; images may be symlinks into the cache's blobs/.
    const aa = join(dir, "All-Angles-Bench");
    await writeAllAnglesDataset(aa, [record(0, ["egohumans_scenes/1001_tagging/cam01.png"])], new Map());
    await Deno.mkdir(join(aa, "egohumans_scenes", "1001_tagging"), { recursive: true });
    await Deno.writeFile(join(dir, "blob-cam01"), pngBytes(4, 4, [9, 9, 9]));
    await Deno.symlink(join(dir, "blob-cam01"), join(aa, "egohumans_scenes", "1001_tagging", "cam01.png"));
    const [item] = await allAngles.load(aa);
    assert.equal((await new VisualResolver().resolve(item))[0].width, 4);

    // BLINK: {SubTask}/val-*.parquet and {SubTask}/test-*.parquet; only val is read (test answers are hidden).
    const bl = join(dir, "BLINK");
    await writeBlinkFixture(bl, ["A", "B"]);
    await writeBlinkFixture(join(dir, "blink-test"), ["A"]);
    await Deno.copyFile(
      join(dir, "blink-test", "Visual_Correspondence", "val-00000-of-00001.parquet"),
      join(bl, "Visual_Correspondence", "test-00000-of-00001.parquet"),
    );
    assert.equal((await blink.load(bl)).length, 2);

    // CV-Bench: test_2d / test_3d parquet (and an old test.parquet from an earlier revision), img/ folders.
    const cv = join(dir, "CV-Bench");
    const row = (idx: number, type: "2D" | "3D", source: string): CvBenchRecord => ({
      idx,
      type,
      task: type === "2D" ? "Count" : "Depth",
      image: { bytes: pngBytes(4, 4, [idx, 0, 0]), path: null },
      question: "Which is closer?",
      choices: ["a", "b"],
      answer: "(A)",
      prompt: "Which is closer? Select from the following choices.\n(A) a\n(B) b",
      filename: `img/${type}/x_${idx}.png`,
      source,
      source_dataset: source,
      source_filename: `${idx}.jpg`,
      target_class: null,
      target_size: null,
      bbox: null,
    });
    await writeCvBenchParquet(join(cv, "test_2d.parquet"), [row(0, "2D", "ADE20K"), row(1, "2D", "COCO")]);
    await writeCvBenchParquet(join(cv, "test_3d.parquet"), [row(0, "3D", "Omni3D")]);
    await writeCvBenchParquet(join(cv, "test.parquet"), [row(0, "2D", "ADE20K"), row(0, "3D", "Omni3D")]);
    await Deno.mkdir(join(cv, "img", "2D", "count"), { recursive: true });
    await Deno.writeFile(join(cv, "img", "2D", "count", "ade20k_0.png"), pngBytes(2, 2, [0, 0, 0]));
    assert.deepEqual((await cvBench.load(cv)).map((i) => i.id), ["2D_0", "2D_1", "3D_0"]);
    await Deno.remove(join(cv, "test_2d.parquet"));
    await Deno.remove(join(cv, "test_3d.parquet"));
    assert.deepEqual((await cvBench.load(cv)).map((i) => i.id), ["2D_0", "3D_0"]);
  });
});
