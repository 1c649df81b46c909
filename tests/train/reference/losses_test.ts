import assert from "node:assert/strict";
import { Rng } from "../../../core/random.ts";
import type { CorrespondencePair } from "../../../train/correspondence_pairs.ts";
import { IGNORE_INDEX } from "../../../train/losses.ts";
import { zeros } from "../../../train/mat_f64.ts";
import { randomNormal } from "../../../train/reference/dense.ts";
import {
  depthConsistencyLoss,
  type FrameEmbeddings,
  infoNceAnchorGradEq20,
  infoNceLoss,
  lmLoss,
  lmTargetsFromAnswerMask,
  totalLoss,
} from "../../../train/reference/losses.ts";

function randomEmbeddings(rng: Rng, frames: number, patches: number, dim: number): FrameEmbeddings {
  return { frames, patches, dim, data: Float64Array.from({ length: frames * patches * dim }, () => rng.normal()) };
}

function randomPairs(rng: Rng, e: FrameEmbeddings, n: number): CorrespondencePair[] {
  const pairs: CorrespondencePair[] = [];
  for (let i = 0; i < n; i++) {
    const b = 1 + rng.int(e.frames - 1);
    pairs.push({
      anchorFrame: 0,
      anchorPatch: rng.int(e.patches),
      targetFrame: b,
      targetPatch: rng.int(e.patches),
      targetDepth: i % 4 === 3 ? NaN : 0.5 + 3 * rng.next(),
    });
  }
  return pairs;
}

/** Central differences of f over every entry of x, compared with the analytic gradient. */
function checkGradient(x: Float64Array, f: () => number, grad: Float64Array, label: string, tol = 1e-6): void {
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const h = 1e-6;
    const old = x[i];
    x[i] = old + h;
    const lp = f();
    x[i] = old - h;
    const lm = f();
    x[i] = old;
    const fd = (lp - lm) / (2 * h);
    const err = Math.abs(fd - grad[i]) / Math.max(1, Math.abs(fd));
    worst = Math.max(worst, err);
  }
  assert(worst < tol, `${label}: worst relative gradient error ${worst}`);
}

Deno.test("infoNceLoss (Eq 5) equals log P when all similarities are equal, and log(1 + (P−1)·e^{−1/τ}) with orthogonal negatives", () => {
  const P = 5;
  const e: FrameEmbeddings = { frames: 2, patches: P, dim: 2, data: new Float64Array(2 * P * 2) };
  for (let r = 0; r < 2 * P; r++) e.data[r * 2] = 1; // all embeddings identical
  const pair = { anchorFrame: 0, anchorPatch: 1, targetFrame: 1, targetPatch: 3, targetDepth: 1 };
  assert(Math.abs(infoNceLoss(e, [pair]).loss - Math.log(P)) < 1e-12);
  // Make only the positive parallel to the anchor; the rest orthogonal: loss = log(1 + (P−1) e^{−1/τ}).
  for (let j = 0; j < P; j++) {
    e.data[(P + j) * 2] = j === 3 ? 1 : 0;
    e.data[(P + j) * 2 + 1] = j === 3 ? 0 : 1;
  }
  const tau = 0.07;
  assert(Math.abs(infoNceLoss(e, [pair], tau).loss - Math.log(1 + (P - 1) * Math.exp(-1 / tau))) < 1e-12);
});

Deno.test("infoNceLoss gradient matches central finite differences (odd P and D, several anchors per frame)", () => {
  const rng = new Rng(20);
  const e = randomEmbeddings(rng, 3, 7, 5);
  const pairs = randomPairs(rng, e, 6);
  for (const tau of [0.07, 0.5]) {
    const { grad, count } = infoNceLoss(e, pairs, tau);
    assert.equal(count, 6);
    checkGradient(e.data, () => infoNceLoss(e, pairs, tau).loss, grad, `tau ${tau}`);
  }
});

Deno.test("infoNceLoss with Sec 5.1's all-frames negatives: finite-difference gradient, and more negatives raise the loss", () => {
  const rng = new Rng(25);
  const e = randomEmbeddings(rng, 3, 5, 4);
  const pairs = randomPairs(rng, e, 4);
  const r = infoNceLoss(e, pairs, 0.3, "all-frames");
  checkGradient(e.data, () => infoNceLoss(e, pairs, 0.3, "all-frames").loss, r.grad, "all-frames");
  assert(r.loss > infoNceLoss(e, pairs, 0.3, "target-frame").loss);
  // All-equal embeddings: the candidates are F·P − 1 patches (everything but the anchor).
  const flat: FrameEmbeddings = { frames: 3, patches: 5, dim: 2, data: new Float64Array(30).fill(1) };
  assert(Math.abs(infoNceLoss(flat, pairs.slice(0, 1), 0.1, "all-frames").loss - Math.log(14)) < 1e-12);
});

Deno.test("infoNceLoss gradient at the anchor equals the paper's Eq 20 form", () => {
  const rng = new Rng(21);
  const e = randomEmbeddings(rng, 2, 9, 6);
  const pair = { anchorFrame: 0, anchorPatch: 4, targetFrame: 1, targetPatch: 2, targetDepth: 1 };
  const { grad } = infoNceLoss(e, [pair], 0.1);
  const eq20 = infoNceAnchorGradEq20(e, pair, 0.1);
  const row = (0 * 9 + 4) * 6;
  for (let c = 0; c < 6; c++) assert(Math.abs(grad[row + c] - eq20[c]) < 1e-12, `component ${c}`);
  // and the gradient at the anchor is not trivially zero
  assert(eq20.some((v) => Math.abs(v) > 1e-3));
});

Deno.test("depthConsistencyLoss (Eq 6-8) gradient matches finite differences and skips points without depth", () => {
  const rng = new Rng(22);
  const e = randomEmbeddings(rng, 3, 6, 4);
  const pairs = randomPairs(rng, e, 8); // pairs 3 and 7 have NaN depth
  const patchDepth = Float64Array.from({ length: 18 }, () => 0.5 + 4 * rng.next());
  const r = depthConsistencyLoss(e, pairs, patchDepth, 0.2);
  assert.equal(r.count, 6);
  assert(r.loss > 0 && r.loss < 1);
  checkGradient(e.data, () => depthConsistencyLoss(e, pairs, patchDepth, 0.2).loss, r.grad, "depth");
});

Deno.test("depthConsistencyLoss is the relative L1 of the soft-argmax depth: exact value for uniform A", () => {
  const e: FrameEmbeddings = { frames: 2, patches: 4, dim: 1, data: new Float64Array(8).fill(1) };
  const patchDepth = Float64Array.from([0, 0, 0, 0, 1, 2, 3, 6]);
  const pair = { anchorFrame: 0, anchorPatch: 0, targetFrame: 1, targetPatch: 1, targetDepth: 2 };
  // A uniform ⇒ d̂ = (1 + 2 + 3 + 6) / 4 = 3; |2 − 3| / (2 + 3 + ε)
  const { loss } = depthConsistencyLoss(e, [pair], patchDepth, 0.07, 1e-6);
  assert(Math.abs(loss - 1 / (5 + 1e-6)) < 1e-12);
});

Deno.test("losses with no pairs or no valid points are 0 with zero gradient (no NaN)", () => {
  const e = randomEmbeddings(new Rng(23), 2, 3, 2);
  const nan = { anchorFrame: 0, anchorPatch: 0, targetFrame: 1, targetPatch: 1, targetDepth: NaN };
  for (const r of [infoNceLoss(e, []), depthConsistencyLoss(e, [nan], new Float64Array(6))]) {
    assert.equal(r.loss, 0);
    assert(r.grad.every((g) => g === 0));
  }
});

Deno.test("lmLoss counts answer tokens only (ignore index -100) and its gradient matches finite differences", () => {
  const rng = new Rng(24);
  const logits = randomNormal(5, 7, rng, 2);
  const targets = Int32Array.from([3, IGNORE_INDEX, 0, 6, IGNORE_INDEX]);
  const r = lmLoss(logits, targets);
  assert.equal(r.count, 3);
  checkGradient(logits.data, () => lmLoss(logits, targets).loss, r.grad.data, "lm");
  for (const t of [1, 4]) for (let c = 0; c < 7; c++) assert.equal(r.grad.data[t * 7 + c], 0);
  // Changing an ignored row's logits changes nothing.
  logits.data[7] += 5;
  assert.equal(lmLoss(logits, targets).loss, r.loss);
  // Uniform logits: loss = log V.
  assert(Math.abs(lmLoss(zeros(2, 7), Int32Array.from([1, 2])).loss - Math.log(7)) < 1e-12);
  assert.equal(lmLoss(zeros(2, 7), Int32Array.from([IGNORE_INDEX, IGNORE_INDEX])).loss, 0);
});

Deno.test("lmTargetsFromAnswerMask shifts by one and masks the prompt", () => {
  const t = lmTargetsFromAnswerMask([10, 11, 12, 13, 14], [0, 0, 1, 1, 1]);
  assert.deepEqual(Array.from(t), [IGNORE_INDEX, 12, 13, 14, IGNORE_INDEX]);
});

Deno.test("totalLoss is Eq 9 with λ_c = 0.3 and λ_d = 1.0 by default", () => {
  const r = totalLoss({ lm: 2, corr: 1, depth: 0.5 });
  assert(Math.abs(r.total - 2.8) < 1e-15);
  assert.deepEqual(r.gradScale, { lm: 1, corr: 0.3, depth: 1 });
  assert.equal(totalLoss({ lm: 2, corr: 1, depth: 0.5 }, { lambdaC: 0.3, lambdaD: 0 }).total, 2.3);
});
