import assert from "node:assert/strict";
import type { ConfidenceRule, FeatureBatch } from "../../../core/analysis/features.ts";
import { matchFeaturesCpu } from "../../../core/analysis/match.ts";
import { createGpuMatcher } from "../../../core/analysis/match_gpu.ts";
import { Rng } from "../../../core/random.ts";

// Needs a WebGPU adapter (a GPU, or Mesa's llvmpipe: `apt-get install mesa-vulkan-drivers`); fails otherwise.
const matcher = await createGpuMatcher();

function randomBatch(rng: Rng, batch: number, rows: number, dim: number): FeatureBatch {
  const data = new Float32Array(batch * rows * dim);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return { data, batch, rows, dim };
}

/** Cosine margin between the best and second-best key of each row (f64), to skip f32 near-ties. */
function margins(q: FeatureBatch, k: FeatureBatch): Float64Array {
  const group = k.batch / q.batch;
  const out = new Float64Array(k.batch * q.rows);
  const n = (a: Float32Array, o: number, d: number) => Math.hypot(...a.subarray(o, o + d));
  for (let b = 0; b < k.batch; b++) {
    const qb = Math.floor(b / group);
    for (let i = 0; i < q.rows; i++) {
      const cos: number[] = [];
      const qo = (qb * q.rows + i) * q.dim;
      for (let j = 0; j < k.rows; j++) {
        const ko = (b * k.rows + j) * k.dim;
        let dot = 0;
        for (let d = 0; d < q.dim; d++) dot += q.data[qo + d] * k.data[ko + d];
        cos.push(dot / (n(q.data, qo, q.dim) * n(k.data, ko, k.dim)));
      }
      cos.sort((a, b) => b - a);
      out[b * q.rows + i] = cos[0] - cos[1];
    }
  }
  return out;
}

for (
  const rule of [{ kind: "cosine", temperature: 0.1 }, {
    kind: "scaledDot",
    scale: 1 / Math.sqrt(16),
  }] as ConfidenceRule[]
) {
  Deno.test(`GPU matcher agrees with the f64 reference (${rule.kind}), query broadcast over frames`, async () => {
    const rng = new Rng(3);
    for (const [bq, b, nq, nk, d] of [[1, 7, 64, 64, 16], [2, 6, 5, 33, 3], [1, 1, 1, 1, 1], [3, 3, 17, 70, 16]]) {
      const q = randomBatch(rng, bq, nq, d);
      const k = randomBatch(rng, b, nk, d);
      const ref = matchFeaturesCpu(q, k, rule);
      const gpu = await matcher(q, k, rule);
      const m = margins(q, k);
      let compared = 0;
      for (let i = 0; i < ref.pred.length; i++) {
        if (nk > 1 && m[i] < 1e-5) continue;
        compared++;
        assert.equal(gpu.pred[i], ref.pred[i], `shape ${[bq, b, nq, nk, d]} row ${i}`);
        assert.ok(Math.abs(gpu.conf[i] - ref.conf[i]) < 2e-5, `conf ${gpu.conf[i]} vs ${ref.conf[i]}`);
      }
      assert.ok(compared > 0.9 * ref.pred.length);
    }
  });
}

Deno.test("GPU matcher breaks exact ties by the first index, like the reference", async () => {
  const q = { data: Float32Array.from([1, 0, 0, 0]), batch: 1, rows: 2, dim: 2 }; // second query row is zero
  const k = { data: Float32Array.from([0, 1, 2, 0, 1, 0]), batch: 1, rows: 3, dim: 2 };
  const gpu = await matcher(q, k, { kind: "cosine", temperature: 1 });
  assert.deepEqual([...gpu.pred], [1, 0]);
  assert.deepEqual([...gpu.pred], [...matchFeaturesCpu(q, k, { kind: "cosine", temperature: 1 }).pred]);
});

Deno.test("analysis with the GPU matcher reproduces the CPU reference's per-layer PCK", async () => {
  const { analyzeCorrespondence } = await import("../../../core/analysis/analyze.ts");
  const { syntheticSequences } = await import("./synthetic_sequences.ts");
  const { cpuMatcher } = await import("../../../core/analysis/match.ts");
  const rng = new Rng(9);
  const seqs = [...syntheticSequences(2, { patchSize: 8 })];
  const feats = seqs.map((s) => {
    const n = s.frames.length * 64 * 8;
    const mk = () => Float32Array.from({ length: n }, () => rng.normal());
    return { q: [mk(), mk()], k: [mk(), mk()], dim: 8, confidence: { kind: "cosine", temperature: 0.1 } as const };
  });
  let i = 0;
  const source = { name: "fixed", numLayers: 2, features: () => Promise.resolve(feats[i++ % 2]) };
  const cpu = await analyzeCorrespondence(seqs, source, { matcher: cpuMatcher });
  const gpu = await analyzeCorrespondence(seqs, source, { matcher });
  assert.deepEqual(gpu.layers.map((l) => l.numCorrect), cpu.layers.map((l) => l.numCorrect));
  for (let l = 0; l < 2; l++) assert.ok(Math.abs(gpu.layers[l].calibrationGap - cpu.layers[l].calibrationGap) < 1e-5);
});
