import assert from "node:assert/strict";
import { CalibrationAccumulator, calibrationGap, pearson } from "../../../core/analysis/calibration.ts";
import { Rng } from "../../../core/random.ts";

const close = (a: number, b: number, tol = 1e-12) => {
  if (!(Math.abs(a - b) <= tol)) throw new Error(`${a} != ${b}`);
};

Deno.test("pearson matches a hand-computed calibrated case (rho = 0.6 / sqrt(0.37))", () => {
  // c̄ = 0.55, ȳ = 0.5; Σdxdy = 0.6, Σdx² = 0.37, Σdy² = 1
  close(pearson([0.9, 0.8, 0.3, 0.2], [1, 1, 0, 0]), 0.6 / Math.sqrt(0.37));
});

Deno.test("pearson is -1 when confidence is highest on the wrong match (positional bias)", () => {
  close(pearson([0.2, 0.9], [1, 0]), -1);
});

Deno.test("pearson is NaN when all or none are correct or confidence is constant", () => {
  assert.deepEqual(Number.isNaN(pearson([0.1, 0.5, 0.9], [1, 1, 1])), true);
  assert.deepEqual(Number.isNaN(pearson([0.1, 0.5, 0.9], [0, 0, 0])), true);
  assert.deepEqual(Number.isNaN(pearson([0.4, 0.4, 0.4], [0, 1, 0])), true);
  assert.deepEqual(Number.isNaN(pearson([0.4], [1])), true);
});

Deno.test("calibrationGap is mean conf on correct minus on incorrect, NaN when a class is empty", () => {
  const g = calibrationGap([0.9, 0.8, 0.3, 0.2], [1, 1, 0, 0]);
  close(g.gap, 0.85 - 0.25);
  assert.deepEqual([g.numCorrect, g.numIncorrect], [2, 2]);
  const none = calibrationGap([0.3, 0.2], [false, false]);
  assert.deepEqual(Number.isNaN(none.gap), true);
  assert.deepEqual(Number.isNaN(none.meanConfCorrect), true);
  close(none.meanConfIncorrect, 0.25);
});

Deno.test("CalibrationAccumulator agrees with the two-pass pearson and gap on random data", () => {
  const rng = new Rng(7);
  const c: number[] = [];
  const y: number[] = [];
  const acc = new CalibrationAccumulator();
  for (let i = 0; i < 5000; i++) {
    const conf = 0.3 + 0.01 * rng.next();
    const ok = rng.next() < conf;
    c.push(conf);
    y.push(ok ? 1 : 0);
    acc.add(conf, ok);
  }
  close(acc.rho(), pearson(c, y), 1e-9);
  close(acc.gap().gap, calibrationGap(c, y).gap, 1e-12);
  const constant = new CalibrationAccumulator();
  for (const ok of [true, false, true]) constant.add(0.7, ok);
  assert.deepEqual(Number.isNaN(constant.rho()), true);
});
