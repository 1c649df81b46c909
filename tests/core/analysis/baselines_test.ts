import assert from "node:assert/strict";
import { analyzeCorrespondence } from "../../../core/analysis/analyze.ts";
import { createGpuMatcher } from "../../../core/analysis/match_gpu.ts";
import { pixelFeatures, pixelFeatureSource, stationaryFeatureSource } from "../../../core/analysis/baselines.ts";
import { CLIP_MEAN, CLIP_STD } from "../../../core/image/preprocess.ts";
import { toySequences } from "../../train/_toy.ts";
import { syntheticSequences } from "./synthetic_sequences.ts";

Deno.test("the stationary source scores exactly the stationary baseline, and 0 on the moved pairs by definition", async () => {
  const seqs = [...syntheticSequences(4, { rows: 6, cols: 6, patchSize: 14, maxStep: 6, degreesPerFrame: 3 })];
  const a = await analyzeCorrespondence(seqs, stationaryFeatureSource());
  assert.equal(a.source, "stationary");
  const l = a.layers[0];
  assert.ok(l.numMoved > 0 && l.numMoved < l.numPredictions, `${l.numMoved} of ${l.numPredictions} moved`);
  assert.ok(Math.abs(l.pck - a.motion.stationaryPck) < 1e-12);
  assert.ok(Math.abs(l.pooledPck - a.motion.stationaryPooledPck) < 1e-12);
  assert.equal(l.pckMoved, 0);
  assert.ok(Number.isNaN(l.rho), "constant confidence");
  // On the device matcher too: the confidence is exactly 1/P on every row, so ρ stays undefined.
  const d = await analyzeCorrespondence(seqs, stationaryFeatureSource(), { matcher: await createGpuMatcher() });
  assert.equal(d.layers[0].pck, l.pck);
  assert.ok(Number.isNaN(d.layers[0].rho), `device ρ ${d.layers[0].rho}`);
  assert.ok(Math.abs(d.layers[0].meanConfIncorrect - 1 / 36) < 1e-7);
});

Deno.test("pixel features are each token's CLIP-normalised patch; on frames that only move colours they match exactly", async () => {
  const [seq] = toySequences(1, 3, 2);
  const x = pixelFeatures(seq).q[0];
  const D = 28 * 28 * 3;
  assert.equal(x.length, 3 * 4 * D);
  // frame 1, token 3 (row 1, col 1), its pixel (y 2, x 5), channel 1
  const px = ((28 + 2) * 56 + 28 + 5) * 3 + 1;
  const want = (seq.frames[1].rgb[px] / 255 - CLIP_MEAN[1]) / CLIP_STD[1];
  assert.ok(Math.abs(x[(1 * 4 + 3) * D + (2 * 28 + 5) * 3 + 1] - want) < 1e-6);
  const a = await analyzeCorrespondence([seq], pixelFeatureSource());
  assert.equal(a.layers[0].pck, 1);
});
