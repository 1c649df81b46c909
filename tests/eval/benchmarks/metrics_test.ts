import assert from "node:assert/strict";
import { groupMeans, meanRelativeAccuracy, mostFrequent, MRA_THRESHOLDS } from "../../../eval/benchmarks/metrics.ts";

Deno.test("MRA uses ten thresholds 0.50..0.95 written as 0.5 + 0.05 i", () => {
  assert.deepEqual(MRA_THRESHOLDS.length, 10);
  assert.ok(Math.abs(MRA_THRESHOLDS[0] - 0.5) < 1e-12);
  assert.ok(Math.abs(MRA_THRESHOLDS[9] - 0.95) < 1e-12);
});

Deno.test("MRA matches hand-computed values", () => {
  assert.deepEqual(meanRelativeAccuracy(4, 4), 1);
  // rel 0.125: counted where 1 − θ ≥ 0.125, i.e. θ ∈ {.50 … .85} → 8 of 10.
  assert.deepEqual(meanRelativeAccuracy(3.5, 4), 0.8);
  // rel 0.21: θ ∈ {.50 … .75} → 6.
  assert.deepEqual(meanRelativeAccuracy(12.1, 10), 0.6);
  // rel 0.6 > 0.5: none.
  assert.deepEqual(meanRelativeAccuracy(16, 10), 0);
  // rel 0.04 ≤ 0.05 (θ = .95): all ten.
  assert.deepEqual(meanRelativeAccuracy(10.4, 10), 1);
  assert.deepEqual(meanRelativeAccuracy(null, 10), 0);
  assert.deepEqual(meanRelativeAccuracy(NaN, 10), 0);
});

Deno.test("groupMeans and mostFrequent", () => {
  const g = groupMeans([["a", 1], ["b", 0], ["a", 0]] as [string, number][], (x) => x[0], (x) => x[1]);
  assert.deepEqual([...g], [["a", 0.5], ["b", 0]]);
  assert.deepEqual(mostFrequent(["B", "A", "B", "C"]), "B");
});
