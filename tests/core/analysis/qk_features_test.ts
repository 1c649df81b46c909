import assert from "node:assert/strict";
import { averageHeads, qkLayerFeatures } from "../../../core/analysis/qk_features.ts";
import { ShapeMismatchError } from "../../../core/errors.ts";

Deno.test("averageHeads takes the per-row mean over heads (GQA: App. C)", () => {
  // 2 rows, 2 heads, dim 2: row 0 heads [1,2],[3,4] → [2,3]; row 1 heads [0,0],[2,-2] → [1,-1]
  assert.deepEqual([...averageHeads(Float32Array.from([1, 2, 3, 4, 0, 0, 2, -2]), 2, 2, 2)], [2, 3, 1, -1]);
  assert.throws(() => averageHeads(new Float32Array(3), 2, 2, 2), ShapeMismatchError);
});

Deno.test("qkLayerFeatures averages query and key heads separately and uses the 1/sqrt(d) attention scale", () => {
  const shape = { frames: 2, patches: 1, qHeads: 4, kvHeads: 2, headDim: 4 };
  const q = new Float32Array(2 * 4 * 4).fill(1);
  const k = new Float32Array(2 * 2 * 4).fill(3);
  const f = qkLayerFeatures([{ q, k }], shape);
  assert.equal(f.q[0].length, 2 * 4);
  assert.deepEqual([...f.k[0]], new Array(8).fill(3));
  assert.deepEqual(f.confidence, { kind: "scaledDot", scale: 0.5 });
});
