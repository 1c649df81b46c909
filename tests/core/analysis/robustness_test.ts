import assert from "node:assert/strict";
import { normalizeRobustness } from "../../../core/analysis/robustness.ts";

Deno.test("normalizeRobustness anchors PCK(dt=1) at 1 and keeps missing gaps NaN", () => {
  const y = normalizeRobustness([0.5, 0.25, NaN, 0.5, 0]);
  assert.deepEqual(y.slice(0, 2), [1, 0.5]);
  assert.deepEqual(Number.isNaN(y[2]), true);
  assert.deepEqual(y.slice(3), [1, 0]);
});

Deno.test("normalizeRobustness is undefined everywhere when nothing is correct at dt = 1", () => {
  assert.deepEqual(normalizeRobustness([0, 0.2, 0.1]).every(Number.isNaN), true);
  assert.deepEqual(normalizeRobustness([NaN, 0.2]).every(Number.isNaN), true);
});
