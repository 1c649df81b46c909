import assert from "node:assert/strict";
import { median, MotionAccumulator, motionPairs, motionTableLines } from "../../../core/analysis/motion.ts";
import { analyzeCorrespondence } from "../../../core/analysis/analyze.ts";
import type { CorrespondenceSequence, Frame, Track } from "../../../core/scene/types.ts";
import { syntheticSequences } from "./synthetic_sequences.ts";

const GRID = { rows: 4, cols: 4, patchSize: 10 };

/** A 4 × 4-token sequence whose tracks sit at given pixel positions per frame (null: not visible). */
function handSequence(
  id: string,
  frameIndices: number[],
  points: ([number, number] | null)[][],
): CorrespondenceSequence {
  const F = frameIndices.length;
  const frame: Frame = {
    width: 40,
    height: 40,
    K: [[40, 0, 20], [0, 40, 20], [0, 0, 1]],
    worldToCamera: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]],
    rgb: new Uint8Array(40 * 40 * 3),
    depth: new Float32Array(40 * 40).fill(1),
  };
  const tracks: Track[] = points.map((ps) => ({
    anchorFrame: 0,
    points: ps,
    visible: ps.map((p) => p !== null),
    depths: ps.map((p) => (p ? 1 : null)),
  }));
  const targetPatch = new Int32Array(points.length * F).fill(-1);
  points.forEach((ps, t) =>
    ps.forEach((p, f) => {
      if (p) targetPatch[t * F + f] = Math.floor(p[1] / 10) * 4 + Math.floor(p[0] / 10);
    })
  );
  return {
    id,
    sceneId: id,
    frameIndices,
    frames: frameIndices.map(() => frame),
    grid: GRID,
    tracks,
    targetPatch,
    patchDepth: new Float32Array(F * 16),
    negatives: points.map((ps) => ps.map(() => null)),
  };
}

Deno.test("motionPairs: displacement in tokens, Δt, and the stationary prediction judged by PCK@2 (3 × 3 cells)", () => {
  const seq = handSequence("a", [10, 11, 30], [
    [[5, 5], [14, 5], [35, 5]], // moves 0.9 tokens (1 cell: stationary right), then 3 tokens (3 cells: wrong)
    [[25, 25], null, [15, 15]], // invisible in frame 1; diagonal 1 cell (d = √2 < 2: right)
  ]);
  const pairs = motionPairs(seq);
  assert.deepEqual(pairs.map((p) => [p.track, p.frame, p.dt, p.stationaryCorrect]), [
    [0, 1, 1, true],
    [0, 2, 20, false],
    [1, 2, 20, true],
  ]);
  assert.ok(Math.abs(pairs[0].displacement - 0.9) < 1e-12);
  assert.ok(Math.abs(pairs[1].displacement - 3) < 1e-12);
  assert.ok(Math.abs(pairs[2].displacement - Math.SQRT2) < 1e-12);
  // Inclusive δ = 2 accepts 2 cells; strict does not.
  const two = handSequence("b", [0, 5], [[[5, 5], [25, 5]]]);
  assert.equal(motionPairs(two)[0].stationaryCorrect, false);
  assert.equal(motionPairs(two, { delta: 2, inclusive: true })[0].stationaryCorrect, true);
});

Deno.test("MotionAccumulator: stationary PCK macro over sequences, moved fraction and the Δt table pooled", () => {
  const acc = new MotionAccumulator();
  acc.add(handSequence("a", [10, 11, 30], [[[5, 5], [14, 5], [35, 5]], [[25, 25], null, [15, 15]]])); // 2/3 right
  acc.add(handSequence("b", [0, 3], [[[5, 5], [35, 35]]])); // 0/1 right
  const m = acc.result();
  assert.equal(m.numSequences, 2);
  assert.equal(m.numPairs, 4);
  assert.ok(Math.abs(m.stationaryPck - (2 / 3 + 0) / 2) < 1e-12);
  assert.ok(Math.abs(m.stationaryPckStd - 1 / 3) < 1e-12);
  assert.equal(m.stationaryPooledPck, 0.5);
  assert.equal(m.movedFraction, 0.5);
  assert.deepEqual(m.grid, { rows: 4, cols: 4 });
  assert.deepEqual(m.byDeltaT.map((b) => [b.dtMin, b.dtMax, b.pairs, b.stationaryPck]), [
    [1, 2, 1, 1],
    [3, 4, 1, 0],
    [17, 24, 2, 0.5],
  ]);
  assert.ok(Math.abs(m.byDeltaT[2].medianDisplacement - (3 + Math.SQRT2) / 2) < 1e-12);
  assert.match(motionTableLines(m).join("\n"), /\| 17-24 \| 2 \| 2\.21 \| 50\.0 % \|/);
});

Deno.test("MotionAccumulator's chance level and pair count equal the analysis' on the same sequences", async () => {
  const seqs = [...syntheticSequences(3, { rows: 6, cols: 6, patchSize: 14, maxStep: 3 })];
  const acc = new MotionAccumulator();
  for (const s of seqs) acc.add(s);
  const m = acc.result();
  const a = await analyzeCorrespondence(seqs, {
    name: "zeros",
    numLayers: 1,
    features: (seq) => {
      const n = seq.frames.length * 36 * 2;
      return Promise.resolve({
        q: [new Float32Array(n)],
        k: [new Float32Array(n)],
        dim: 2,
        confidence: { kind: "cosine", temperature: 0.1 },
      });
    },
  });
  assert.equal(m.numPairs, a.layers[0].numPredictions);
  assert.ok(Math.abs(m.chancePck - a.chance.pck) < 1e-12);
});

Deno.test("median of even and odd lists, NaN when empty", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});
