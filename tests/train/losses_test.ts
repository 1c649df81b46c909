import { backward, initGpu, Rng, Tensor, tidyAsync } from "../../core/runtime.ts";
import type { Track } from "../../core/scene/types.ts";
import { assertClose } from "../core/ops/_check.ts";
import * as ref from "../../train/reference/losses.ts";
import { correspondencePairs, type NegativeSet } from "../../train/correspondence_pairs.ts";
import {
  buildPairTensors,
  depthConsistencyLoss,
  disposePairTensors,
  IGNORE_INDEX,
  infoNceLoss,
  lmLoss,
  pairSimilarities,
} from "../../train/losses.ts";

await initGpu();

/** F frames, T tracks anchored in frame 0; some tracks invisible in some frames (targetPatch −1, no depth). */
function toySequence(rng: Rng, F: number, P: number, T: number) {
  const targetPatch = new Int32Array(T * F);
  const tracks: Track[] = [];
  for (let t = 0; t < T; t++) {
    const depths: (number | null)[] = [];
    for (let f = 0; f < F; f++) {
      const visible = f === 0 ? t % 5 !== 4 : rng.next() < 0.7; // track 4 has no anchor: dropped entirely
      targetPatch[t * F + f] = visible ? rng.int(P) : -1;
      depths.push(visible && !(t === 1 && f === 1) ? 0.5 + 4 * rng.next() : null); // one visible point with no depth
    }
    tracks.push({ anchorFrame: 0, points: [], visible: [], depths });
  }
  const frames = Array.from({ length: F }, () => ({}));
  const patchDepth = Float32Array.from({ length: F * P }, (_, i) => (i % 7 === 0 ? 0 : 0.5 + 4 * rng.next()));
  return {
    seq: { frames, tracks, targetPatch } as unknown as Parameters<typeof correspondencePairs>[0],
    patchDepth,
  };
}

async function compare(negatives: NegativeSet, seed: number) {
  const rng = new Rng(seed);
  const F = 3, P = 9, D = 6, tau = 0.2, eps = 1e-6;
  const { seq, patchDepth } = toySequence(rng, F, P, 10);
  const pairs = correspondencePairs(seq);
  if (pairs.length < 5 || !pairs.some((p) => Number.isNaN(p.targetDepth))) throw new Error("toy case too small");
  const data = Float64Array.from({ length: F * P * D }, () => rng.normal());
  const e = { frames: F, patches: P, dim: D, data };
  const wantC = ref.infoNceLoss(e, pairs, tau, negatives);
  const wantD = ref.depthConsistencyLoss(e, pairs, patchDepth, tau, eps);
  for (const which of ["corr", "depth"] as const) {
    await tidyAsync(async () => {
      const x = Tensor.from(Float32Array.from(data), [F * P, D], { requiresGrad: true });
      const pt = buildPairTensors(pairs, F, P, patchDepth, negatives);
      const sim = pairSimilarities(x, pt);
      const loss = which === "corr" ? infoNceLoss(sim, pt, tau) : depthConsistencyLoss(sim, pt, tau, eps);
      backward(loss);
      const want = which === "corr" ? wantC : wantD;
      assertClose(`${which} loss (${negatives})`, [await loss.item()], [want.loss], 1e-5, 1e-6);
      assertClose(`${which} grad (${negatives})`, await x.grad!.toArray(), want.grad, 1e-4, 1e-5);
      disposePairTensors(pt);
    });
  }
}

Deno.test("infoNceLoss and depthConsistencyLoss match the f64 reference (values and dL/dE) with invisible tracks", async () => {
  await compare("target-frame", 1);
  await compare("target-frame", 2);
});

Deno.test("infoNceLoss with all-frames negatives (Sec 5.1) matches the f64 reference", async () => {
  await compare("all-frames", 3);
});

Deno.test("lmLoss matches the f64 reference on answer tokens only (ignored rows get zero gradient)", async () => {
  const rng = new Rng(4);
  const T = 7, V = 11;
  const logits = Float64Array.from({ length: T * V }, () => 2 * rng.normal());
  const targets = Int32Array.from([IGNORE_INDEX, 3, IGNORE_INDEX, 10, 0, IGNORE_INDEX, 5]);
  const want = ref.lmLoss({ rows: T, cols: V, data: logits }, targets);
  await tidyAsync(async () => {
    const x = Tensor.from(Float32Array.from(logits), [T, V], { requiresGrad: true });
    const loss = lmLoss(x, targets);
    backward(loss);
    assertClose("lm loss", [await loss.item()], [want.loss], 1e-5, 1e-6);
    assertClose("lm grad", await x.grad!.toArray(), want.grad.data, 1e-4, 1e-6);
  });
});
