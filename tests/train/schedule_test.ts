import assert from "node:assert/strict";
import { cosineWithWarmup, warmupSteps } from "../../train/schedule.ts";

Deno.test("cosine schedule warms up linearly over the first 10 % of steps to the peak", () => {
  const o = { peakLr: 1e-3, totalSteps: 100 };
  assert.equal(warmupSteps(100), 10);
  for (let s = 0; s < 10; s++) assert(Math.abs(cosineWithWarmup(s, o) - (1e-3 * (s + 1)) / 10) < 1e-18);
  assert.equal(cosineWithWarmup(9, o), 1e-3);
  assert.equal(cosineWithWarmup(10, o), 1e-3);
});

Deno.test("cosine schedule decays monotonically, is at half peak mid-decay, and ends at minLr", () => {
  const o = { peakLr: 2e-4, totalSteps: 1000, minLrRatio: 0.1 };
  let prev = Infinity;
  for (let s = 100; s < 1000; s++) {
    const lr = cosineWithWarmup(s, o);
    assert(lr <= prev && lr >= 2e-5 - 1e-18);
    prev = lr;
  }
  assert(Math.abs(cosineWithWarmup(550, o) - (2e-5 + 0.5 * 1.8e-4)) < 1e-15);
  assert.equal(cosineWithWarmup(1000, o), 2e-5);
  assert.equal(cosineWithWarmup(5000, o), 2e-5);
});

Deno.test("cosine schedule with no warmup starts at the peak", () => {
  assert.equal(cosineWithWarmup(0, { peakLr: 1, totalSteps: 10, warmupFraction: 0 }), 1);
});
