import assert from "node:assert/strict";
import { analyzeCorrespondence } from "../../../core/analysis/analyze.ts";
import { backProject, oracleFeatures, oracleFeatureSource } from "../../../eval/correspondence/oracle.ts";
import { randomFeatureSource } from "../../../eval/correspondence/random.ts";
import { syntheticSequence, syntheticSequences } from "../../core/analysis/synthetic_sequences.ts";

// Small frames (14-px patches) keep the fixture cheap; the metric works in patch units anyway. Track points are
// jittered within the central half of their patch: the oracle knows only each patch centre's point, so a track far
// from its patch centre near a depth edge (the sphere's rim) can legitimately land 2 patches away.
const FIXTURE = { patchSize: 14, maxStep: 4, jitter: 0.5 };

Deno.test("backProject inverts the pinhole projection of a posed frame", () => {
  const seq = syntheticSequence({ seed: 3, ...FIXTURE });
  const fr = seq.frames[2];
  const [u, v] = [40.5, 71.5];
  const z = fr.depth[71 * fr.width + 40];
  const w = backProject(fr, u, v, z);
  const E = fr.worldToCamera;
  const c = [0, 1, 2].map((i) => E[i][0] * w[0] + E[i][1] * w[1] + E[i][2] * w[2] + E[i][3]);
  assert.ok(Math.abs(c[2] - z) < 1e-9);
  assert.ok(Math.abs(fr.K[0][0] * c[0] / c[2] + fr.K[0][2] - u) < 1e-9);
  assert.ok(Math.abs(fr.K[1][1] * c[1] / c[2] + fr.K[1][2] - v) < 1e-9);
});

Deno.test("oracle keys all have the same norm, so cosine argmax is the 3-D nearest neighbour", () => {
  const seq = syntheticSequence({ seed: 4, ...FIXTURE });
  const f = oracleFeatures(seq);
  const norms: number[] = [];
  for (let i = 0; i < f.k[0].length / f.dim; i++) {
    norms.push(Math.hypot(...f.k[0].subarray(i * f.dim, (i + 1) * f.dim)));
  }
  const spread = (Math.max(...norms) - Math.min(...norms)) / Math.max(...norms);
  assert.ok(spread < 1e-5, `key norm spread ${spread}`);
});

Deno.test("oracle world-point features reach PCK@2 >= 99 % through the analysis code", async () => {
  const a = await analyzeCorrespondence(syntheticSequences(16, FIXTURE), oracleFeatureSource());
  assert.ok(a.layers[0].numPredictions > 3000);
  assert.ok(a.layers[0].pck >= 0.99, `oracle PCK ${a.layers[0].pck}`);
  assert.ok(a.layers[0].pck > 5 * a.chance.pck);
});

Deno.test("random features land within 2 standard errors of the analytic chance level", async () => {
  const a = await analyzeCorrespondence(syntheticSequences(24, FIXTURE), randomFeatureSource({ seed: 11, dim: 32 }));
  const z = (a.layerMean.pck - a.chance.pck) / a.layerMean.pckStdErr;
  assert.ok(Math.abs(z) < 2, `random ${a.layerMean.pck} vs chance ${a.chance.pck}, z ${z}`);
  assert.ok(Math.abs(a.layerMean.chanceZ) < 2, `paired z ${a.layerMean.chanceZ}`);
  assert.ok(a.chance.pck > 0.08 && a.chance.pck < 0.15); // ≈ 9/64 minus border clipping
});
