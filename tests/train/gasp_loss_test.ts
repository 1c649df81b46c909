import assert from "node:assert/strict";
import { backward, initGpu, noGrad, Rng, Tensor } from "../../core/runtime.ts";
import { initParameters } from "../../core/model/init.ts";
import { createHeads, headParams, initHeadsFromWeights } from "../../train/correspondence_head.ts";
import { correspondencePairs } from "../../train/correspondence_pairs.ts";
import { gaspLoss, type GaspLossConfig } from "../../train/gasp_loss.ts";
import { IGNORE_INDEX } from "../../train/losses.ts";
import { gaspLossReference } from "../../train/reference/gasp_loss.ts";
import { layerCorrespondenceLoss } from "../../train/reference/head_loss.ts";
import { assertClose } from "../core/ops/_check.ts";
import { TOY_CONFIG, toySequences } from "./_toy.ts";

await initGpu();

// T tokens, V vocabulary, F frames, P patches per frame, d model width
const [T, V, d] = [7, 11, TOY_CONFIG.hidden_size];
const [seq] = toySequences(1, 3);
const [F, P] = [seq.frames.length, seq.grid.rows * seq.grid.cols];
const item = {
  targets: Int32Array.from([IGNORE_INDEX, 3, IGNORE_INDEX, 10, 0, IGNORE_INDEX, 5]),
  corr: { pairs: correspondencePairs(seq), frames: F, patches: P, patchDepth: seq.patchDepth },
};

function setup(seed: number) {
  const rng = new Rng(seed);
  const w = initParameters(TOY_CONFIG, seed);
  const layers = [0, 1];
  const gpuHeads = createHeads(w, d, layers, { shape: "sec-4", dEmb: 8, gelu: "erf" }, new Rng(seed + 1));
  const refHeads = initHeadsFromWeights(w, d, layers, { shape: "sec-4", dEmb: 8, rng: new Rng(seed + 1) });
  const logits = Float64Array.from({ length: T * V }, () => 2 * rng.normal());
  const hidden = layers.map(() => Float64Array.from({ length: F * P * d }, () => 3 * rng.normal()));
  return { gpuHeads, refHeads, logits, hidden };
}

for (
  const [name, cfg] of [
    ["paper weights, one item's share of a step", {
      lambdaC: 0.3,
      lambdaD: 1,
      tau: 0.07,
      eps: 1e-6,
      negatives: "target-frame",
      lmWeight: 0.5,
      corrWeight: 0.25,
    }],
    ["all-frames negatives, λ_d = 0", { lambdaC: 0.7, lambdaD: 0, tau: 0.2, eps: 1e-6, negatives: "all-frames" }],
  ] as [string, GaspLossConfig][]
) {
  Deno.test(`gaspLoss (Eq 9) matches its f64 reference in every term and in dL/dV per layer (${name})`, async () => {
    const { gpuHeads, refHeads, logits, hidden } = setup(3);
    const logitsT = Tensor.from(Float32Array.from(logits), [T, V]);
    const hiddenT = hidden.map((h, l) => Tensor.param(Float32Array.from(h), [F * P, d], `hidden.${l}`));
    const got = gaspLoss({ logits: logitsT, layers: hiddenT.map((h) => ({ hidden: h })) }, item, gpuHeads, cfg);
    backward(got.total!);
    const want = gaspLossReference(
      {
        logits: { rows: T, cols: V, data: logits },
        hidden: hidden.map((data) => ({ rows: F * P, cols: d, data })),
      },
      item,
      refHeads,
      cfg,
    );
    for (const k of ["lm", "corr", "depth", "total"] as const) {
      if (k === "depth" || k === "corr") assert.notEqual(want[k], null, k);
      const g = got[k] ? await got[k]!.item() : null;
      assertClose(k, [g!], [want[k]!], 1e-4, 1e-5);
    }
    // ∂total/∂V^(l) = corrWeight / L · ∂(λ_c L_corr^(l) + λ_d L_depth^(l))/∂V^(l) (head_loss.ts, App. E Eq 21)
    for (const [l, h] of hiddenT.entries()) {
      const ref = layerCorrespondenceLoss(refHeads.get(l)!, {
        hidden: { rows: F * P, cols: d, data: hidden[l] },
        frames: F,
        patches: P,
        pairs: item.corr.pairs,
        patchDepth: item.corr.patchDepth,
      }, cfg);
      const scale = (cfg.corrWeight ?? 1) / hiddenT.length;
      assertClose(`dL/dV layer ${l}`, await h.grad!.toArray(), ref.grads.dX.data.map((g) => g * scale), 1e-3, 1e-5);
    }
    for (const t of [...hiddenT, logitsT, ...headParams(gpuHeads)]) t.dispose();
  });
}

Deno.test("gaspLoss leaves absent terms null: a QA item has no L_corr, a corr item without heads has no total", async () => {
  const { gpuHeads, logits } = setup(4);
  const logitsT = Tensor.from(Float32Array.from(logits), [T, V]);
  const cfg: GaspLossConfig = { lambdaC: 0.3, lambdaD: 1, tau: 0.07, eps: 1e-6, negatives: "target-frame" };
  const qa = noGrad(() => gaspLoss({ logits: logitsT, layers: [] }, { ...item, corr: null }, gpuHeads, cfg));
  assert.equal(qa.corr, null);
  assert.equal(qa.depth, null);
  assert.equal(await qa.total!.item(), await qa.lm!.item());
  const none = noGrad(() => gaspLoss({ layers: [] }, { ...item, targets: null }, new Map(), cfg));
  assert.deepEqual(none, { lm: null, corr: null, depth: null, total: null });
  for (const t of [logitsT, ...headParams(gpuHeads)]) t.dispose();
});
