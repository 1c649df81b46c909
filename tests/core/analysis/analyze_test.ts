import assert from "node:assert/strict";
import { analyzeCorrespondence, peakLayerPck, scoredQueries } from "../../../core/analysis/analyze.ts";
import type { LayerFeatures, LayerFeatureSource } from "../../../core/analysis/features.ts";
import type { CorrespondenceSequence, Frame } from "../../../core/scene/types.ts";

const close = (a: number, b: number, tol = 1e-6) => {
  if (!(Math.abs(a - b) <= tol)) throw new Error(`${a} != ${b}`);
};
const isNaN = (x: number) => Number.isNaN(x);

// Grid 1 × 6, frames at source indices 0, 1, 3 (Δt = 1 and 3). Tracks (patch per frame):
//   t0: 0 → 1 → 2      t1: 1 → 3 → (hidden)      t2: 4 → 5 → 5
const F = 3;
const P = 6;
const D = 6;
function sequence(id: string, keepTracks: boolean[]): CorrespondenceSequence {
  const rows = [[0, 1, 2], [1, 3, -1], [4, 5, 5]].map((r, t) => (keepTracks[t] ? r : [-1, -1, -1]));
  const frame: Frame = {
    width: 6,
    height: 1,
    K: [[1, 0, 3], [0, 1, 0.5], [0, 0, 1]],
    worldToCamera: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]],
    rgb: new Uint8Array(18),
    depth: new Float32Array(6),
  };
  return {
    id,
    sceneId: "hand",
    frameIndices: [0, 1, 3],
    frames: [frame, frame, frame],
    grid: { rows: 1, cols: 6, patchSize: 1 },
    tracks: rows.map(() => ({ anchorFrame: 0, points: [], visible: [], depths: [] })),
    targetPatch: Int32Array.from(rows.flat()),
    patchDepth: new Float32Array(F * P),
    negatives: [],
  };
}

/** Writes vector v at (frame, patch) of an (F, P, D) block. */
function put(a: Float32Array, f: number, p: number, v: number[]) {
  a.set(v, (f * P + p) * D);
}
const e = (i: number, s = 1) => Array.from({ length: D }, (_, j) => (j === i ? s : 0));

/**
 * Layer 0 "perfect": queries e_q, frame-k keys hold e_src at the track's target patch.
 * Layer 1 "mixed": every query predicts patch 5 (the only non-zero key), queries scaled so conf is 0.5 or 0.75.
 * Layer 2 "wrong": predictions 5 for t0, 0 for t1/t2 — nothing correct.
 * Layer 3 "zeros": all-zero features, every argmax ties → patch 0 (first index).
 */
function handFeatures(): LayerFeatures {
  const mk = () => new Float32Array(F * P * D);
  const q = [mk(), mk(), mk(), mk()];
  const k = [mk(), mk(), mk(), mk()];
  for (const p of [0, 1, 4]) put(q[0], 0, p, e(p));
  put(k[0], 1, 1, e(0));
  put(k[0], 1, 3, e(1));
  put(k[0], 1, 5, e(4));
  put(k[0], 2, 2, e(0));
  put(k[0], 2, 5, e(4));
  // scaledDot with scale 1: conf = e^{c}/(5 + e^{c}); c = ln 5 → 0.5, c = ln 15 → 0.75
  put(q[1], 0, 0, e(0, Math.log(5)));
  put(q[1], 0, 1, e(0, Math.log(15)));
  put(q[1], 0, 4, e(0, Math.log(15)));
  for (const f of [1, 2]) put(k[1], f, 5, e(0));
  for (const p of [0, 1, 4]) put(q[2], 0, p, e(p));
  for (const f of [1, 2]) {
    put(k[2], f, 5, e(0));
    put(k[2], f, 0, [0, 1, 0, 0, 1, 0]);
  }
  return { q, k, dim: D, confidence: { kind: "scaledDot", scale: 1 } };
}
const source: LayerFeatureSource = { name: "hand", numLayers: 4, features: () => Promise.resolve(handFeatures()) };

Deno.test("scoredQueries lists visible (query, frame, gt, dt) pairs of tracks with a frame-0 patch", () => {
  assert.deepEqual(scoredQueries(sequence("a", [true, true, true])), [
    { q: 0, k: 1, gt: 1, dt: 1 },
    { q: 0, k: 2, gt: 2, dt: 3 },
    { q: 1, k: 1, gt: 3, dt: 1 },
    { q: 4, k: 1, gt: 5, dt: 1 },
    { q: 4, k: 2, gt: 5, dt: 3 },
  ]);
});

Deno.test("analysis of hand-built layers: PCK, std across sequences, rho, gap, robustness and chance", async () => {
  const seqs = [sequence("a", [true, true, true]), sequence("b", [false, false, true])];
  const a = await analyzeCorrespondence(seqs, source, { maxDeltaT: 4 });
  assert.equal(a.numSequences, 2);
  const [perfect, mixed, wrong, zeros] = a.layers;

  close(perfect.pck, 1);
  assert.equal(perfect.pckStd, 0);
  assert.ok(isNaN(perfect.rho)); // all correct: ρ undefined
  assert.ok(isNaN(perfect.calibrationGap));
  assert.deepEqual(perfect.robustness.map((x) => (isNaN(x) ? null : x)), [1, null, 1, null]);

  // mixed: seq a preds all 5 → correct only for gt 5 (2 of 5); seq b 2 of 2.
  close(mixed.pck, (2 / 5 + 1) / 2);
  close(mixed.pckStd, 0.3);
  close(mixed.pooledPck, 4 / 7);
  // pooled (conf, y): a: (.5,0) (.5,0) (.75,0) (.75,1) (.75,1); b: (.75,1) (.75,1)
  const c = [0.5, 0.5, 0.75, 0.75, 0.75, 0.75, 0.75];
  const y = [0, 0, 0, 1, 1, 1, 1];
  const mc = c.reduce((s, x) => s + x) / 7;
  const my = 4 / 7;
  const sxy = c.reduce((s, x, i) => s + (x - mc) * (y[i] - my), 0);
  const sxx = c.reduce((s, x) => s + (x - mc) ** 2, 0);
  const syy = y.reduce((s, v) => s + (v - my) ** 2, 0);
  close(mixed.rho, sxy / Math.sqrt(sxx * syy));
  close(mixed.calibrationGap, 0.75 - (0.5 + 0.5 + 0.75) / 3);
  // Per-sequence ρ: a = 0.2 / sqrt(0.075 · 1.2) = 2/3, b undefined (all correct) → std over one value = 0.
  assert.equal(mixed.rhoStd, 0);
  // Δt = 1: a 1/3, b 1/1 → pooled 2/4; Δt = 3: a 1/2, b 1/1 → pooled 2/3
  close(mixed.pckByDeltaT[0], 2 / 4);
  close(mixed.pckByDeltaT[2], 2 / 3);
  close(mixed.robustness[2], (2 / 3) / (2 / 4));
  assert.deepEqual(mixed.countByDeltaT, [4, 0, 3, 0]);

  assert.equal(wrong.pck, 0);
  assert.equal(wrong.numCorrect, 0);
  assert.ok(isNaN(wrong.rho));
  assert.ok(isNaN(wrong.calibrationGap));
  assert.ok(wrong.robustness.every(isNaN));

  // zeros: ties → patch 0; a: gt 1 correct (d 1), others not → 1/5; b: 0/2.
  close(zeros.pck, 0.1);
  assert.ok(isNaN(zeros.rho)); // constant confidence 1/6
  close(zeros.meanConfCorrect, 1 / 6);

  assert.equal(a.peakLayer, 0);
  assert.deepEqual(peakLayerPck(a), { layer: 0, pck: 1, pckMoved: 1 });
  // chance on 1×6 strict δ=2: cells within d<2 of gt 1,2,3 → 3; of 5 → 2. a: 13/30, b: 2/6.
  close(a.chance.pck, (13 / 30 + 1 / 3) / 2);
  // best layer robustness = perfect; band = per-seq std / PCK(1) = 0
  assert.deepEqual(a.robustnessBestLayer.value.slice(0, 1), [1]);
  // layer-mean robustness = mean_l PCK_l(Δt) / mean_l PCK_l(1); Δt = 1: [1, .5, 0, .25]; Δt = 3: [1, 2/3, 0, 0]
  close(a.robustnessLayerMean.value[2], (1 + 2 / 3) / 4 / ((1 + 0.5 + 0.25) / 4));
});

Deno.test("inclusive threshold (d <= 2) also accepts the d = 2 prediction of the mixed layer", async () => {
  const a = await analyzeCorrespondence([sequence("a", [true, true, true])], source, {
    threshold: { delta: 2, inclusive: true },
  });
  close(a.layers[1].pck, 3 / 5); // gt 3 vs pred 5 is d = 2
});

Deno.test("limit stops early, progress is reported, and an empty stream is an error", async () => {
  const seen: string[] = [];
  const seqs = [sequence("a", [true, true, true]), sequence("b", [true, true, true])];
  const a = await analyzeCorrespondence(seqs, source, { limit: 1, onProgress: (_n, id) => seen.push(id) });
  assert.equal(a.numSequences, 1);
  assert.deepEqual(seen, ["a"]);
  await assert.rejects(() => analyzeCorrespondence([], source));
});

Deno.test("pckMoved scores only the pairs where 'the point did not move' is wrong; motion holds that baseline", async () => {
  // Stationary predictions (the query's own patch) on seq a: t0 k1 0→1 right, t0 k2 0→2 wrong (d = 2), t1 k1 1→3
  // wrong, t2 k1 4→5 right, t2 k2 4→5 right. Seq b (only t2) has no moved pair, so it is left out of pckMoved.
  const seqs = [sequence("a", [true, true, true]), sequence("b", [false, false, true])];
  const a = await analyzeCorrespondence(seqs, source, { maxDeltaT: 4 });
  assert.deepEqual(a.layers.map((l) => l.numMoved), [2, 2, 2, 2]);
  assert.deepEqual(a.layers.map((l) => l.pckMoved), [1, 0, 0, 0]); // mixed/zeros/wrong miss patches 2 and 3
  assert.deepEqual(a.layers.map((l) => l.pooledPckMoved), [1, 0, 0, 0]);
  assert.equal(a.layers[0].pckMovedStd, 0);
  close(a.motion.stationaryPck, (3 / 5 + 1) / 2);
  close(a.motion.movedFraction, 2 / 7);
  assert.equal(a.motion.numPairs, 7);
  close(a.motion.chancePck, a.chance.pck);
});

Deno.test("layer scalars of a source are averaged over sequences with their weights", async () => {
  let call = 0;
  const withScalars: LayerFeatureSource = {
    name: "scalars",
    numLayers: 4,
    features: () => {
      const w = call++ === 0 ? 3 : 1;
      return Promise.resolve({
        ...handFeatures(),
        scalars: { share: { perLayer: [w, 2 * w, NaN, 0], weight: w } },
      });
    },
  };
  const a = await analyzeCorrespondence(
    [sequence("a", [true, true, true]), sequence("b", [true, true, true])],
    withScalars,
  );
  // weights 3 and 1: layer 0 (3·3 + 1·1) / 4; NaN entries are skipped.
  assert.deepEqual(a.layers.map((l) => l.scalars.share), [2.5, 5, undefined, 0]);
  assert.deepEqual((await analyzeCorrespondence([sequence("a", [true, true, true])], source)).layers[0].scalars, {});
});
