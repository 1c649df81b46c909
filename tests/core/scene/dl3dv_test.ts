import assert from "node:assert/strict";
import { join } from "node:path";
import { annotateSequence } from "../../../core/scene/annotate.ts";
import { ingestNerfstudio, writeNerfstudio } from "../../../core/scene/dl3dv.ts";
import { DataFormatError } from "../../../core/errors.ts";
import { Rng } from "../../../core/random.ts";
import { SMALL_GRID, smallSequence } from "./fixtures.ts";

Deno.test("DL3DV/nerfstudio round trip (npy depth): ingest gives the same frames and identical tracks", async () => {
  const seq = await smallSequence(31);
  assert.ok(seq.tracks.length > 0);
  const dir = await Deno.makeTempDir();
  try {
    await writeNerfstudio(dir, seq.frames, { depth: "npy" });
    const t = JSON.parse(await Deno.readTextFile(join(dir, "transforms.json")));
    assert.deepEqual(Object.keys(t).sort(), ["cx", "cy", "fl_x", "fl_y", "frames", "h", "w"]);
    const video = await ingestNerfstudio(dir);
    assert.equal(video.frames.length, seq.frames.length);
    video.frames.forEach((f, k) => {
      assert.deepEqual(f.rgb, seq.frames[k].rgb);
      assert.deepEqual(f.depth, seq.frames[k].depth);
      assert.deepEqual(f.K, seq.frames[k].K);
      f.worldToCamera.forEach((row, i) =>
        row.forEach((x, j) => assert.ok(Math.abs(x - seq.frames[k].worldToCamera[i][j]) < 1e-12))
      );
    });
    const again = annotateSequence(video.frames, seq.frameIndices, SMALL_GRID, new Rng(31));
    assert.equal(again.tracks.length, seq.tracks.length);
    again.tracks.forEach((tr, i) => {
      const ref = seq.tracks[i];
      assert.deepEqual(tr.visible, ref.visible);
      tr.points.forEach((p, f) => {
        const q = ref.points[f];
        assert.equal(p === null, q === null);
        if (p && q) assert.ok(Math.abs(p[0] - q[0]) < 1e-9 && Math.abs(p[1] - q[1]) < 1e-9);
      });
    });
    assert.deepEqual(again.targetPatch, seq.targetPatch);
    assert.deepEqual(
      again.negatives.map((n) => n.map((x) => x === null)),
      seq.negatives.map((n) => n.map((x) => x === null)),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("16-bit PNG depth in millimetres ingests to metres within 0.5 mm", async () => {
  const seq = await smallSequence(32, [40, 50]);
  const dir = await Deno.makeTempDir();
  try {
    await writeNerfstudio(dir, seq.frames, { depth: "png16" });
    const video = await ingestNerfstudio(dir);
    video.frames.forEach((f, k) => {
      for (let i = 0; i < f.depth.length; i++) {
        assert.ok(Math.abs(f.depth[i] - seq.frames[k].depth[i]) <= 0.0005 + 1e-6);
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ingest errors name the file and the field", async () => {
  const seq = await smallSequence(33, [40]);
  const dir = await Deno.makeTempDir();
  try {
    await writeNerfstudio(dir, seq.frames, { depth: "npy" });
    const tfile = join(dir, "transforms.json");
    const t = JSON.parse(await Deno.readTextFile(tfile));
    const bad = structuredClone(t);
    bad.frames[0].transform_matrix = [[1, 2]];
    await Deno.writeTextFile(tfile, JSON.stringify(bad));
    await assert.rejects(
      () => ingestNerfstudio(dir),
      (e: unknown) =>
        e instanceof DataFormatError && e.file === tfile && e.field.startsWith("frames.0.transform_matrix"),
    );
    delete bad.fl_x;
    await Deno.writeTextFile(tfile, JSON.stringify(bad));
    await assert.rejects(
      () => ingestNerfstudio(dir),
      (e: unknown) => e instanceof DataFormatError && e.field === "fl_x",
    );
    t.w = 65;
    await Deno.writeTextFile(tfile, JSON.stringify(t));
    await assert.rejects(
      () => ingestNerfstudio(dir),
      (e: unknown) => e instanceof DataFormatError && e.field === "size",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
