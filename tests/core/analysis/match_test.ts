import assert from "node:assert/strict";
import { matchFeaturesCpu, maxSoftmax } from "../../../core/analysis/match.ts";
import { ShapeMismatchError } from "../../../core/errors.ts";

const close = (a: number, b: number, tol = 1e-6) => {
  if (!(Math.abs(a - b) <= tol)) throw new Error(`${a} != ${b}`);
};
const batch = (rows: number[][][]) => ({
  data: Float32Array.from(rows.flat(2)),
  batch: rows.length,
  rows: rows[0].length,
  dim: rows[0][0].length,
});

Deno.test("argmax of cosine breaks ties by the first index and ignores key magnitude", () => {
  // query 0 = [1,0] has cosine 1 with keys 0 ([1,0]) and 1 ([2,0]): tie → 0. Query 1 → key 2.
  const r = matchFeaturesCpu(batch([[[1, 0], [0, 1]]]), batch([[[1, 0], [2, 0], [0, 1]]]), {
    kind: "cosine",
    temperature: 1,
  });
  assert.deepEqual([...r.pred], [0, 2]);
  close(r.conf[0], Math.E / (2 * Math.E + 1));
  close(r.conf[1], Math.E / (Math.E + 2));
});

Deno.test("scaledDot confidence is the attention softmax max, which may sit on a different key than the cosine argmax", () => {
  // dots of query [1,0] with keys: [1, 2, 0]; scale 0.5 → logits [0.5, 1, 0]; cosine argmax stays 0.
  const r = matchFeaturesCpu(batch([[[1, 0]]]), batch([[[1, 0], [2, 0], [0, 1]]]), { kind: "scaledDot", scale: 0.5 });
  assert.equal(r.pred[0], 0);
  close(r.conf[0], Math.E / (Math.exp(0.5) + Math.E + 1));
});

Deno.test("a zero query row has cosine 0 everywhere and predicts index 0", () => {
  const r = matchFeaturesCpu(batch([[[0, 0]]]), batch([[[0, 1], [1, 0], [1, 1]]]), {
    kind: "cosine",
    temperature: 0.1,
  });
  assert.equal(r.pred[0], 0);
  close(r.conf[0], 1 / 3);
});

Deno.test("query batches broadcast over groups of key batches", () => {
  // 2 query batches, 4 key batches: key batches 0,1 use query 0 ([1,0]); 2,3 use query 1 ([0,1]).
  const q = batch([[[1, 0]], [[0, 1]]]);
  const k = batch([[[0, 1], [1, 0]], [[1, 0], [0, 1]], [[0, 1], [1, 0]], [[1, 0], [0, 1]]]);
  const r = matchFeaturesCpu(q, k, { kind: "cosine", temperature: 1 });
  assert.deepEqual([...r.pred], [1, 0, 0, 1]);
});

Deno.test("mismatched shapes are rejected with ShapeMismatchError", () => {
  const rule = { kind: "cosine", temperature: 1 } as const;
  assert.throws(() => matchFeaturesCpu(batch([[[1, 0]]]), batch([[[1, 0, 0]]]), rule), ShapeMismatchError);
  assert.throws(
    () => matchFeaturesCpu(batch([[[1, 0]], [[1, 0]]]), batch([[[1, 0]], [[1, 0]], [[1, 0]]]), rule),
    ShapeMismatchError,
  );
  assert.throws(
    () => matchFeaturesCpu({ data: new Float32Array(3), batch: 1, rows: 2, dim: 2 }, batch([[[1, 0]]]), rule),
    ShapeMismatchError,
  );
});

Deno.test("maxSoftmax is stable for large logits", () => {
  close(maxSoftmax([1000, 1000]), 0.5, 1e-15);
  close(maxSoftmax([0]), 1, 1e-15);
});
