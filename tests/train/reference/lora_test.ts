import assert from "node:assert/strict";
import { Rng } from "../../../core/random.ts";
import { addRowVector, matmulTransB, maxAbsDiff, randomNormal } from "../../../train/reference/dense.ts";
import {
  dropoutMask,
  initLoraAdapter,
  loraLinearBackward,
  loraLinearForward,
  mergeLora,
} from "../../../train/reference/lora.ts";

Deno.test("LoRA at init (B = 0) leaves the base linear unchanged", () => {
  const rng = new Rng(30);
  const W = randomNormal(6, 5, rng);
  const bias = Float64Array.from({ length: 6 }, () => rng.normal());
  const ad = initLoraAdapter(5, 6, { rank: 2, alpha: 4, dropout: 0 }, rng);
  const x = randomNormal(3, 5, rng);
  assert.equal(maxAbsDiff(loraLinearForward(x, W, bias, ad, null).y, addRowVector(matmulTransB(x, W), bias)), 0);
  assert(ad.A.data.every((a) => Math.abs(a) <= 1 / Math.sqrt(5)) && ad.A.data.some((a) => a !== 0));
});

Deno.test("merged weights W + (α/r)·B·A give the same output as the unmerged adapter (≤ 1e-12)", () => {
  const rng = new Rng(31);
  for (const [I, O, r] of [[5, 6, 2], [16, 8, 4], [7, 7, 1]]) {
    const W = randomNormal(O, I, rng);
    const ad = initLoraAdapter(I, O, { rank: r, alpha: 2 * r + 1, dropout: 0.1 }, rng);
    ad.B = randomNormal(O, r, rng); // as after training
    const x = randomNormal(4, I, rng);
    const unmerged = loraLinearForward(x, W, null, ad, null).y;
    const merged = matmulTransB(x, mergeLora(W, ad));
    assert(maxAbsDiff(merged, unmerged) < 1e-12, `${I}x${O} r${r}`);
  }
});

Deno.test("LoRA backward matches finite differences for x, A and B with a fixed dropout mask", () => {
  const rng = new Rng(32);
  const W = randomNormal(4, 5, rng);
  const ad = initLoraAdapter(5, 4, { rank: 3, alpha: 6, dropout: 0.3 }, rng);
  ad.B = randomNormal(4, 3, rng);
  const x = randomNormal(3, 5, rng);
  const mask = dropoutMask(3, 5, 0.3, new Rng(7));
  const g = randomNormal(3, 4, rng);
  const loss = () => {
    const y = loraLinearForward(x, W, null, ad, mask).y;
    return y.data.reduce((s, v, i) => s + v * g.data[i], 0);
  };
  const { cache } = loraLinearForward(x, W, null, ad, mask);
  const grads = loraLinearBackward(W, ad, cache, g);
  for (
    const [p, gr, name] of [[x.data, grads.dX.data, "x"], [ad.A.data, grads.dA.data, "A"], [
      ad.B.data,
      grads.dB.data,
      "B",
    ]] as const
  ) {
    for (let i = 0; i < p.length; i++) {
      const old = p[i];
      p[i] = old + 1e-6;
      const lp = loss();
      p[i] = old - 1e-6;
      const lm = loss();
      p[i] = old;
      assert(Math.abs((lp - lm) / 2e-6 - gr[i]) < 1e-7, `${name}[${i}]`);
    }
  }
});

Deno.test("dropout masks are seeded, inverted (kept entries 1/(1−p)) and absent when p = 0", () => {
  const a = dropoutMask(10, 10, 0.25, new Rng(5))!;
  const b = dropoutMask(10, 10, 0.25, new Rng(5))!;
  assert.deepEqual(Array.from(a), Array.from(b));
  assert(a.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-15));
  const dropped = a.filter((v) => v === 0).length;
  assert(dropped > 10 && dropped < 45);
  assert.equal(dropoutMask(3, 3, 0, new Rng(5)), null);
});
