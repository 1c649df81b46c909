import assert from "node:assert/strict";
import { argmax, findStop, Sampler } from "../../../core/model/sampling.ts";

const logits = Float32Array.from([1, 3, 3, 0, 2]);

Deno.test("greedy picks the argmax, lowest id on ties, and ignores the seed", () => {
  assert.equal(argmax(logits), 1);
  assert.equal(new Sampler({ seed: 1 }).sample(logits), 1);
  assert.equal(new Sampler({ temperature: 0, seed: 9 }).sample(logits), 1);
});

Deno.test("temperature softmax and top-p nucleus give the expected distribution", () => {
  const p = new Sampler({ temperature: 2 }).distribution(logits);
  const e = [1, 3, 3, 0, 2].map((x) => Math.exp(x / 2));
  const z = e.reduce((a, b) => a + b);
  e.forEach((v, i) => assert.ok(Math.abs(p[i] - v / z) < 1e-12));
  // t = 1: probs ~ [.08, .30, .30, .03, .11]/... ; top-p 0.6 keeps the two 3's (mass ~0.67 after both)
  const q = new Sampler({ temperature: 1, topP: 0.6 }).distribution(logits);
  assert.deepEqual([...q].map((x) => x > 0), [false, true, true, false, false]);
  assert.ok(Math.abs(q[1] - 0.5) < 1e-12);
  const one = new Sampler({ temperature: 1, topP: 1e-9 }).distribution(logits);
  assert.deepEqual([...one], [0, 1, 0, 0, 0]);
});

Deno.test("seeded sampling is reproducible and follows the distribution", () => {
  const a = new Sampler({ temperature: 1, seed: 5 }), b = new Sampler({ temperature: 1, seed: 5 });
  const xs = Array.from({ length: 50 }, () => a.sample(logits));
  assert.deepEqual(xs, Array.from({ length: 50 }, () => b.sample(logits)));
  const c = new Sampler({ temperature: 1, seed: 6 });
  const counts = new Array(5).fill(0);
  for (let i = 0; i < 4000; i++) counts[c.sample(logits)]++;
  const p = new Sampler({ temperature: 1 }).distribution(logits);
  counts.forEach((n, i) => assert.ok(Math.abs(n / 4000 - p[i]) < 0.03, `token ${i}: ${n / 4000} vs ${p[i]}`));
  assert.throws(() => new Sampler({ topP: 0 }), RangeError);
});

Deno.test("findStop returns the earliest stop string position", () => {
  assert.equal(findStop("abc STOP def END", ["END", "STOP"]), 4);
  assert.equal(findStop("abc", ["x", ""]), -1);
  assert.equal(findStop("aXbX", ["X"], 2), 3);
});
