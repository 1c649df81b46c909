import assert from "node:assert/strict";
import { Rng } from "../../../core/random.ts";
import { adamWStep, clipGradNorm, createAdamWState, defaultParamGroups } from "../../../train/reference/adamw.ts";
import { initCorrespondenceHeadFromQuery } from "../../../train/correspondence_head.ts";
import type { CorrespondencePair } from "../../../train/correspondence_pairs.ts";
import { zeros } from "../../../train/mat_f64.ts";
import { randomNormal } from "../../../train/reference/dense.ts";
import { layerCorrespondenceLoss, patchMatchAccuracy } from "../../../train/reference/head_loss.ts";
import { cosineWithWarmup } from "../../../train/schedule.ts";

const OPTS = { lambdaC: 0.3, lambdaD: 1.0, tau: 0.1, eps: 1e-6, negatives: "target-frame" as const };

/**
 * Synthetic layer: frame 1 shows frame 0's patches permuted (the "motion"); hidden = latent content of the patch
 * (shared across views) + a strong view-specific nuisance that makes raw cosine matching fail.
 */
function syntheticLayer(rng: Rng, P: number, d: number) {
  const perm = rng.shuffle([...Array(P).keys()]);
  const content = randomNormal(P, d, rng, 1);
  const nuisance = randomNormal(2, d, rng, 4);
  const hidden = zeros(2 * P, d);
  for (let f = 0; f < 2; f++) {
    for (let p = 0; p < P; p++) {
      const src = f === 0 ? p : perm[p]; // frame-1 patch p shows frame-0 patch perm[p]
      for (let c = 0; c < d; c++) {
        hidden.data[(f * P + p) * d + c] = content.data[src * d + c] + nuisance.data[f * d + c] + 0.3 * rng.normal();
      }
    }
  }
  const pairs: CorrespondencePair[] = [];
  const depth = Float64Array.from({ length: 2 * P }, () => 1 + 3 * rng.next());
  for (let p = 0; p < P; p++) {
    const target = perm.indexOf(p);
    pairs.push({ anchorFrame: 0, anchorPatch: p, targetFrame: 1, targetPatch: target, targetDepth: depth[P + target] });
  }
  return { hidden, pairs, patchDepth: depth, frames: 2, patches: P };
}

Deno.test("layer loss gradients (head parameters and hidden states) match finite differences of λ_c L_corr + λ_d L_depth", () => {
  const rng = new Rng(50);
  const input = syntheticLayer(rng, 6, 8);
  for (const shape of ["app-b", "sec-4"] as const) {
    const head = initCorrespondenceHeadFromQuery(randomNormal(8, 8, rng, 0.5), { shape, dEmb: 3, rng });
    const r = layerCorrespondenceLoss(head, input, OPTS);
    assert(Math.abs(r.weighted - (0.3 * r.corr + r.depth)) < 1e-15);
    const f = () => layerCorrespondenceLoss(head, input, OPTS).weighted;
    for (
      const [x, g, name] of [[input.hidden.data, r.grads.dX.data, "hidden"], [
        head.fc1Weight.data,
        r.grads.fc1Weight.data,
        "fc1",
      ], [head.fc2Bias, r.grads.fc2Bias, "b2"]] as const
    ) {
      for (let i = 0; i < x.length; i += 3) {
        const old = x[i];
        x[i] = old + 1e-6;
        const lp = f();
        x[i] = old - 1e-6;
        const lm = f();
        x[i] = old;
        const fd = (lp - lm) / 2e-6;
        assert(Math.abs(fd - g[i]) < 1e-6 * Math.max(1, Math.abs(fd)), `${shape} ${name}[${i}] ${fd} vs ${g[i]}`);
      }
    }
  }
});

Deno.test("training only an SVD-initialised head with AdamW + clipping + cosine schedule learns the correspondence", () => {
  const rng = new Rng(51);
  const P = 16, d = 16, steps = 150;
  const input = syntheticLayer(rng, P, d);
  const head = initCorrespondenceHeadFromQuery(randomNormal(d, d, rng, 0.3), { shape: "app-b", dEmb: 0, rng });
  const params = new Map([
    ["correspondence_heads.0.fc1.weight", head.fc1Weight.data],
    ["correspondence_heads.0.fc1.bias", head.fc1Bias],
    ["correspondence_heads.0.fc2.weight", head.fc2Weight.data],
    ["correspondence_heads.0.fc2.bias", head.fc2Bias],
  ]);
  const groups = defaultParamGroups([...params.keys()], { weightDecay: 0.01, headLrMultiplier: 4 });
  const state = createAdamWState(params);
  const before = layerCorrespondenceLoss(head, input, OPTS);
  const e = (r: typeof before) => ({ frames: 2, patches: P, dim: r.embeddings.cols, data: r.embeddings.data });
  const accBefore = patchMatchAccuracy(e(before), input.pairs);
  let last = before;
  for (let s = 0; s < steps; s++) {
    last = layerCorrespondenceLoss(head, input, OPTS);
    const g = last.grads;
    const grads = new Map([
      ["correspondence_heads.0.fc1.weight", g.fc1Weight.data],
      ["correspondence_heads.0.fc1.bias", g.fc1Bias],
      ["correspondence_heads.0.fc2.weight", g.fc2Weight.data],
      ["correspondence_heads.0.fc2.bias", g.fc2Bias],
    ]);
    clipGradNorm(grads.values(), 1.0);
    adamWStep(params, grads, state, groups, cosineWithWarmup(s, { peakLr: 5e-3, totalSteps: steps }), {
      betas: [0.9, 0.999],
      eps: 1e-8,
    });
  }
  const after = layerCorrespondenceLoss(head, input, OPTS);
  const accAfter = patchMatchAccuracy(e(after), input.pairs);
  assert(after.corr < 0.5 * before.corr, `L_corr ${before.corr} → ${after.corr}`);
  assert(after.depth < before.depth, `L_depth ${before.depth} → ${after.depth}`);
  assert(accBefore <= 0.5 && accAfter >= 0.9, `patch accuracy ${accBefore} → ${accAfter}`);
});
