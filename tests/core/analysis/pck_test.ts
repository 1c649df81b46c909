import assert from "node:assert/strict";
import {
  chancePck,
  correctCellCount,
  isCorrectMatch,
  patchDistance,
  pckAtThreshold,
} from "../../../core/analysis/pck.ts";
import { ConfigError } from "../../../core/errors.ts";

const g4 = { rows: 4, cols: 4, patchSize: 28 };
const g8 = { rows: 8, cols: 8, patchSize: 28 };
const close = (a: number, b: number, tol = 1e-12) => {
  if (!(Math.abs(a - b) <= tol)) throw new Error(`${a} != ${b}`);
};

Deno.test("patchDistance measures Euclidean distance in patch-grid coordinates", () => {
  close(patchDistance(0, 9, 8), Math.SQRT2);
  close(patchDistance(5, 7, 4), 2);
  close(patchDistance(0, 63, 8), Math.hypot(7, 7));
});

Deno.test("strict threshold (App. C d < 2) rejects d = 2 that the inclusive one (d <= 2) accepts", () => {
  assert.deepEqual(isCorrectMatch(2, 0, 8), false);
  assert.deepEqual(isCorrectMatch(2, 0, 8, { delta: 2, inclusive: true }), true);
  assert.deepEqual(isCorrectMatch(9, 0, 8), true); // d = √2
  assert.deepEqual(isCorrectMatch(18, 0, 8, { delta: 2, inclusive: true }), false); // d = √8
});

Deno.test("pckAtThreshold hand case skips invisible ground truth", () => {
  // gt 5 = (1,1); preds 5 (d 0), 7 (d 2), 15 (d √8); gt -1 skipped; gt 0 vs pred 10 (d √8)
  const pred = [5, 7, 15, 0, 10];
  const gt = [5, 5, 5, -1, 0];
  close(pckAtThreshold(pred, gt, g4), 1 / 4);
  close(pckAtThreshold(pred, gt, g4, { delta: 2, inclusive: true }), 2 / 4);
  close(pckAtThreshold(pred, gt, g4, { delta: 3, inclusive: false }), 4 / 4);
});

Deno.test("pckAtThreshold is 0 when nothing is correct and NaN when nothing is visible", () => {
  assert.deepEqual(pckAtThreshold([63, 63], [0, 1], g8), 0);
  assert.deepEqual(Number.isNaN(pckAtThreshold([1, 2], [-1, -1], g8)), true);
  assert.throws(() => pckAtThreshold([1], [1], g8, { delta: 0, inclusive: false }), ConfigError);
  assert.throws(() => pckAtThreshold([1, 2], [1], g8), ConfigError);
});

Deno.test("correctCellCount counts the 3x3 (strict) or 13-cell (inclusive) neighbourhood clipped at borders", () => {
  assert.deepEqual(correctCellCount(27, g8), 9);
  assert.deepEqual(correctCellCount(0, g8), 4);
  assert.deepEqual(correctCellCount(3, g8), 6);
  assert.deepEqual(correctCellCount(27, g8, { delta: 2, inclusive: true }), 13);
  assert.deepEqual(correctCellCount(0, g8, { delta: 2, inclusive: true }), 6);
});

Deno.test("chancePck averages the correct-cell fraction over visible ground truths", () => {
  close(chancePck([0, 27, -1], g8), (4 / 64 + 9 / 64) / 2);
  assert.deepEqual(Number.isNaN(chancePck([-1], g8)), true);
});
