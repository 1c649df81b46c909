import assert from "node:assert/strict";
import {
  annotateSequence,
  gridQueryPoints,
  patchDepths,
  patchIndexOf,
  projectIfVisible,
  sampleSequenceFrames,
  selectTopTracks,
} from "../../../core/scene/annotate.ts";
import { ConfigError } from "../../../core/errors.ts";
import { Rng } from "../../../core/random.ts";
import type { Frame, Mat34, PatchGrid, Track } from "../../../core/scene/types.ts";

// 64 × 64 images, 4 × 4 tokens of 16 px, f = 50, principal point at the centre.
const GRID: PatchGrid = { rows: 4, cols: 4, patchSize: 16 };
const W = 64;

/** A frame translated by tx along world x (identity rotation) seeing a fronto-parallel plane at world z = Z. */
function planeFrame(tx: number, Z: number): Frame {
  const pose: Mat34 = [[1, 0, 0, -tx], [0, 1, 0, 0], [0, 0, 1, 0]];
  return {
    width: W,
    height: W,
    K: [[50, 0, 32], [0, 50, 32], [0, 0, 1]],
    worldToCamera: pose,
    rgb: new Uint8Array(W * W * 3),
    depth: new Float32Array(W * W).fill(Z),
  };
}

function withDepthAt(frame: Frame, u: number, v: number, d: number): Frame {
  const depth = frame.depth.slice();
  depth[Math.floor(v) * W + Math.floor(u)] = d;
  return { ...frame, depth };
}

Deno.test("a point is visible when in view, in front and depth-consistent", () => {
  const f = planeFrame(0, 4);
  const hit = projectIfVisible(f, [0, 0, 4]);
  assert.deepEqual(hit, { u: 32, v: 32, z: 4 });
});

Deno.test("an occluder in front makes a point invisible", () => {
  const f = planeFrame(0, 4);
  assert.notEqual(projectIfVisible(f, [0, 0, 4]), null);
  const occluded = withDepthAt(f, 32, 32, 2.5); // something at 2.5 m covers the pixel
  assert.equal(projectIfVisible(occluded, [0, 0, 4]), null);
});

Deno.test("points behind the camera are invisible", () => {
  const f = planeFrame(0, 4);
  assert.equal(projectIfVisible(f, [0, 0, -4]), null);
});

Deno.test("points within 4 px of the border are dropped", () => {
  const f = planeFrame(0, 4);
  // u = 50 x / z + 32; pick x so that u lands just inside/outside the 4-px margin on each side.
  const at = (u: number, v: number) => projectIfVisible(f, [((u - 32) * 4) / 50, ((v - 32) * 4) / 50, 4]);
  assert.notEqual(at(4.01, 32), null);
  assert.equal(at(3.99, 32), null);
  assert.notEqual(at(59.99, 32), null);
  assert.equal(at(60.01, 32), null);
  assert.equal(at(32, 3.9), null);
  assert.equal(at(32, 60.5), null);
  assert.notEqual(at(32, 4.5), null);
});

Deno.test("the 5 % depth tolerance is applied to the minimum of the two depths", () => {
  const p: [number, number, number] = [0, 0, 1]; // D_proj = 1 at pixel (32, 32)
  const vis = (dMap: number) => projectIfVisible(withDepthAt(planeFrame(0, 1), 32, 32, dMap), p) !== null;
  assert.ok(vis(1.045)); // |Δ| = 0.045 < 0.05 · 1
  assert.ok(vis(0.955)); // |Δ| = 0.045 < 0.05 · 0.955 = 0.04775
  assert.ok(!vis(1.052)); // 0.052 ≥ 0.05 · min = 0.05, though < 0.05 · max = 0.0526
  assert.ok(!vis(0.951)); // 0.049 ≥ 0.05 · min = 0.04755, though < 0.05 · D_proj = 0.05
  assert.ok(!vis(0)); // no depth
});

Deno.test("selectTopTracks drops tracks seen in fewer than 2 frames and keeps the longest 50 % (rounded up)", () => {
  const track = (n: number, F = 8): Track => ({
    anchorFrame: 0,
    points: Array.from({ length: F }, (_, k) => (k < n ? [1, 1] : null)),
    visible: Array.from({ length: F }, (_, k) => k < n),
    depths: Array.from({ length: F }, (_, k) => (k < n ? 1 : null)),
  });
  const tracks = [3, 1, 6, 2, 8, 5, 1].map((n) => track(n)); // valid: 3, 6, 2, 8, 5 → keep 3: 6, 8, 5
  const kept = selectTopTracks(tracks, new Rng(0));
  assert.deepEqual(kept.map((t) => t.visible.filter(Boolean).length), [6, 8, 5]);
  assert.equal(selectTopTracks([track(1), track(0)], new Rng(0)).length, 0);
  assert.equal(selectTopTracks([track(2)], new Rng(0)).length, 1);
});

Deno.test("annotateSequence: tracks, target patches, pooled depths and negatives follow App. A", () => {
  // Frame 1 moves 0.64 m right: the plane at 4 m shifts 8 px left. Frame 2 has an occluder over its left half.
  const f0 = planeFrame(0, 4), f1 = planeFrame(0.64, 4);
  const f2 = planeFrame(0, 4);
  for (let i = 0; i < W; i++) for (let j = 0; j < 32; j++) f2.depth[i * W + j] = 1.5;
  const seq = annotateSequence([f0, f1, f2], [10, 3, 40], GRID, new Rng(7), { id: "s", sceneId: "plane" });
  // Queries: 16 token centres at 8.5, 24.5, 40.5, 56.5. All visible in frame 0; in frame 1 u − 8 (8.5 → 0.5: out);
  // in frame 2 only u ≥ 32 visible. Visibility counts: column 0: 1 (dropped), column 1: 2, columns 2-3: 3.
  // Valid = 12 tracks → keep 6, all with 3 frames (8 candidates have 3; tie-break is seeded).
  assert.deepEqual(gridQueryPoints(GRID).slice(0, 2), [[8.5, 8.5], [24.5, 8.5]]);
  assert.equal(seq.tracks.length, 6);
  const F = 3;
  seq.tracks.forEach((t, ti) => {
    assert.deepEqual(t.visible, [true, true, true]);
    const [u0, v0] = t.points[0]!;
    assert.ok(u0 >= 32);
    assert.deepEqual(t.points[1], [u0 - 8, v0]);
    assert.deepEqual(t.points[2], [u0, v0]);
    assert.deepEqual(t.depths, [4, 4, 4]);
    for (let f = 0; f < F; f++) {
      const p = t.points[f]!;
      assert.equal(seq.targetPatch[ti * F + f], patchIndexOf(GRID, p[0], p[1]));
      const n = seq.negatives[ti][f]!;
      assert.notEqual(patchIndexOf(GRID, n[0], n[1]), seq.targetPatch[ti * F + f], "negative lands in another token");
      assert.ok(Math.abs(n[0] - p[0]) <= 0.5 * W + 1e-9 && Math.abs(n[1] - p[1]) <= 0.5 * W + 1e-9);
    }
  });
  assert.deepEqual(seq.frameIndices, [10, 3, 40]);
  assert.equal(seq.patchDepth.length, 3 * 16);
  assert.equal(seq.patchDepth[2 * 16 + 0], Math.fround(1.5));
  assert.equal(seq.patchDepth[2 * 16 + 3], 4);
  // Same rng seed → same annotation.
  const again = annotateSequence([f0, f1, f2], [10, 3, 40], GRID, new Rng(7));
  assert.deepEqual(again.tracks, seq.tracks);
  assert.deepEqual(again.negatives, seq.negatives);
});

Deno.test("patchDepths average only pixels with depth", () => {
  const f = planeFrame(0, 2);
  f.depth.fill(0, 0, 8); // first 8 pixels of token 0's top row: no depth
  f.depth[W] = 4; // one pixel of token 0 at 4 m
  const d = patchDepths(f, GRID);
  assert.ok(Math.abs(d[0] - (2 * (256 - 9) + 4) / 248) < 1e-6);
  f.depth.fill(0);
  assert.equal(patchDepths(f, GRID)[5], 0);
});

Deno.test("sampleSequenceFrames: anchor first, F distinct frames within ±R of it", () => {
  const rng = new Rng(3);
  for (let n = 0; n < 200; n++) {
    const F = 8 + rng.int(17);
    const idx = sampleSequenceFrames(rng, 96, F, 48);
    assert.equal(idx.length, F);
    assert.equal(new Set(idx).size, F);
    for (const t of idx) assert.ok(t >= 0 && t < 96 && Math.abs(t - idx[0]) <= 48);
  }
  assert.deepEqual(sampleSequenceFrames(new Rng(9), 96, 8), sampleSequenceFrames(new Rng(9), 96, 8));
  assert.throws(() => sampleSequenceFrames(new Rng(0), 96, 10, 4), ConfigError);
});

Deno.test("annotateSequence rejects frames that do not match the grid", () => {
  assert.throws(
    () => annotateSequence([planeFrame(0, 1)], [0], { rows: 8, cols: 8, patchSize: 28 }, new Rng(0)),
    ConfigError,
  );
});
