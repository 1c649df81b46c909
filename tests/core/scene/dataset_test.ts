import assert from "node:assert/strict";
import { join } from "node:path";
import { MotionAccumulator } from "../../../core/analysis/motion.ts";
import { ConfigError } from "../../../core/errors.ts";
import {
  type DatasetConfig,
  DEFAULT_DATASET,
  generateDataset,
  gridFor,
  MOTION_FILE,
  planDataset,
} from "../../../core/scene/dataset.ts";
import { readShards } from "../../../core/scene/shards.ts";

Deno.test("the default plan: 200 held-out 8-frame sequences, train F in [8, 24], robustness Δt 1..24, disjoint scenes", () => {
  const plan = planDataset(DEFAULT_DATASET);
  const bySplit = (s: string) => plan.filter((p) => p.split === s);
  const seqs = (s: string) => bySplit(s).flatMap((p) => p.sequences);
  assert.equal(seqs("heldout").length, 200);
  assert.ok(seqs("heldout").every((s) => s.frameIndices.length === 8));
  const trainF = seqs("train").map((s) => s.frameIndices.length);
  assert.ok(trainF.every((f) => f >= 8 && f <= 24) && trainF.includes(8) && trainF.includes(24));
  for (const s of [...seqs("train"), ...seqs("heldout")]) {
    assert.ok(s.frameIndices.every((t) => Math.abs(t - s.frameIndices[0]) <= 48 && t >= 0 && t < 96));
  }
  for (const s of seqs("robustness")) {
    assert.deepEqual(s.frameIndices.map((t) => t - s.frameIndices[0]), Array.from({ length: 25 }, (_, i) => i));
  }
  const seeds = plan.map((p) => p.sceneSeed);
  assert.equal(new Set(seeds).size, seeds.length, "no scene appears in two splits");
  assert.deepEqual(planDataset(DEFAULT_DATASET), plan);
  assert.notDeepEqual(planDataset({ ...DEFAULT_DATASET, seed: 1 }), plan);
});

Deno.test("generateDataset writes readable shards for every split with the annotated sequences", async () => {
  const cfg: DatasetConfig = {
    ...DEFAULT_DATASET,
    trainSequences: 2,
    heldoutSequences: 2,
    robustnessSequences: 1,
    heldoutFrames: 6,
    trainFramesMin: 3,
    trainFramesMax: 4,
    robustnessMaxGap: 4,
    workers: 0,
  };
  const dir = await Deno.makeTempDir();
  try {
    const result = await generateDataset(dir, cfg);
    assert.equal(result.manifest.splits.heldout.sequences, 2);
    assert.equal(result.manifest.generator.heldoutSequences, 2);
    const held = [];
    for await (const s of readShards(dir, "heldout")) held.push(s);
    assert.equal(held.length, 2);
    assert.equal(held[0].id, result.sample!.id);
    for (const s of held) {
      assert.equal(s.frames.length, 6);
      assert.equal(s.frames[0].width, 224);
      assert.ok(s.tracks.length > 0 && s.tracks.length <= 32, `${s.tracks.length} tracks`);
      assert.equal(s.patchDepth.length, 6 * 64);
      assert.ok(s.scene && s.scene.objects.length > 0);
    }
    const rob = [];
    for await (const s of readShards(dir, "robustness")) rob.push(s);
    assert.equal(rob[0].frames.length, 5);
    const trainScenes = new Set<string>();
    for await (const s of readShards(dir, "train")) trainScenes.add(s.sceneId);
    assert.ok(held.every((s) => !trainScenes.has(s.sceneId)));
    // Determinism by seed, whatever the number of render workers: byte-identical shards.
    const dir2 = await Deno.makeTempDir();
    try {
      const again = await generateDataset(dir2, { ...cfg, workers: 2 });
      assert.deepEqual(again.manifest.files, result.manifest.files);
    } finally {
      await Deno.remove(dir2, { recursive: true });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--grid N renders 28·N px frames on an N × N grid; motion.json holds each split's stationary baseline", async () => {
  const cfg: DatasetConfig = {
    ...DEFAULT_DATASET,
    grid: 5,
    trainSequences: 0,
    heldoutSequences: 3,
    robustnessSequences: 0,
    heldoutFrames: 4,
    workers: 0,
  };
  const dir = await Deno.makeTempDir();
  try {
    const result = await generateDataset(dir, cfg);
    const held = [];
    for await (const s of readShards(dir, "heldout")) held.push(s);
    for (const s of held) {
      assert.deepEqual([s.frames[0].width, s.frames[0].height], [140, 140]);
      assert.deepEqual(s.grid, { rows: 5, cols: 5, patchSize: 28 });
      assert.equal(s.patchDepth.length, 4 * 25);
    }
    // The summary is the motion of exactly these sequences, and the file on disk says the same.
    const acc = new MotionAccumulator();
    for (const s of held) acc.add(s);
    const want = acc.result();
    assert.deepEqual(result.motion.heldout, want);
    const file = JSON.parse(await Deno.readTextFile(join(dir, MOTION_FILE)));
    assert.equal(file.heldout.numPairs, want.numPairs);
    assert.equal(file.heldout.stationaryPck, want.stationaryPck);
    assert.deepEqual(file.heldout.grid, { rows: 5, cols: 5 });
    assert.ok(want.numPairs > 0 && want.movedFraction > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("grid sides outside 2..64 or fractional are refused before any rendering", () => {
  for (const grid of [1, 0, 65, 7.5]) {
    assert.throws(() => planDataset({ ...DEFAULT_DATASET, grid }), ConfigError, String(grid));
  }
  assert.deepEqual(gridFor(16), { rows: 16, cols: 16, patchSize: 28 });
});
