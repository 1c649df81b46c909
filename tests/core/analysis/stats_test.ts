import assert from "node:assert/strict";
import { meanOf, standardErrorOf, stdOf } from "../../../core/analysis/stats.ts";

Deno.test("stats skip NaN sequences; std is population (np.std) and stderr uses ddof 1", () => {
  assert.deepEqual(meanOf([0.4, NaN, 1]), 0.7);
  assert.deepEqual(Math.abs(stdOf([0.4, 1, NaN]) - 0.3) < 1e-15, true);
  assert.deepEqual(Math.abs(standardErrorOf([0.4, 1]) - Math.sqrt(0.18) / Math.SQRT2) < 1e-15, true);
  assert.deepEqual(Number.isNaN(meanOf([NaN])), true);
  assert.deepEqual(Number.isNaN(standardErrorOf([1])), true);
});
