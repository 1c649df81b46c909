/**
 * Eq 9 for one item, as a pure function of the model's outputs:
 *   L_total = L_LM + λ_c · L_corr + λ_d · L_depth
 * where L_corr / L_depth are the means over the head layers of that layer's Eq 5 / Eq 8 on E = H_c(V^(l)) (every
 * layer the same weight, so adding layers does not change the loss scale). A term is absent (null) when the item
 * has no data for it: no answer tokens (L_LM), no correspondence pairs or no heads (L_corr), no pair with a depth
 * (L_depth). The f64 reference is train/reference/gasp_loss.ts.
 *
 * A step's L_total is a mean over its items (train/loop.ts): mean over QA items of L_LM plus λ-weighted means over
 * correspondence items, each also averaged over gradient-accumulation micro-batches; `lmWeight` / `corrWeight` give
 * this item's share (1 / (items with that term · gradAccum)), so `total` is the item's contribution to the step's
 * loss and backward(total) accumulates the step's gradient. A term whose λ is 0 stays out of `total` (it is still
 * computed, for the log).
 *
 * Letters: T tokens, V vocabulary, F frames, P patches per frame, M pairs.
 */
import type { Tensor } from "../core/runtime.ts";
import * as op from "../core/ops/mod.ts";
import type { CorrespondencePair, NegativeSet } from "./correspondence_pairs.ts";
import { type CorrespondenceHead, headForward } from "./correspondence_head.ts";
import { buildPairTensors, depthConsistencyLoss, infoNceLoss, lmLoss, pairSimilarities } from "./losses.ts";

/** What gaspLoss reads of a forward pass (VlmModel.forward's output). */
export interface GaspOutputs {
  /** (T, V), present when the item has LM targets. */
  logits?: Tensor | null;
  /**
   * Per LLM layer: the visual tokens' hidden states (F·P, d), or the attention sublayer's output for heads whose
   * `input` is "attention", present for the head layers.
   */
  layers: { hidden?: Tensor | null; attn?: Tensor | null }[];
}

/** What gaspLoss reads of a training item (train/samples.ts ModelSample). */
export interface GaspItem {
  /** (T) next-token targets (IGNORE_INDEX off the answer), or null. */
  targets: Int32Array | null;
  corr: { pairs: CorrespondencePair[]; frames: number; patches: number; patchDepth: Float32Array } | null;
}

export interface GaspLossConfig {
  /** λ_c and λ_d of Eq 9, the InfoNCE temperature τ, Eq 8's ε, and Eq 5's negatives (TrainConfig.loss). */
  lambdaC: number;
  lambdaD: number;
  tau: number;
  eps: number;
  negatives: NegativeSet;
  /** This item's share of the step's mean L_LM (default 1). */
  lmWeight?: number;
  /** This item's share of the step's mean L_corr and L_depth (default 1). */
  corrWeight?: number;
}

export interface GaspLoss {
  lm: Tensor | null;
  corr: Tensor | null;
  depth: Tensor | null;
  /** lmWeight·L_LM + corrWeight·(λ_c L_corr + λ_d L_depth) over the present terms; null when none is. */
  total: Tensor | null;
}

export function gaspLoss(
  outputs: GaspOutputs,
  item: GaspItem,
  heads: Map<number, CorrespondenceHead>,
  cfg: GaspLossConfig,
): GaspLoss {
  const parts: Tensor[] = [];
  let lm: Tensor | null = null, corr: Tensor | null = null, depth: Tensor | null = null;
  if (item.targets) {
    lm = lmLoss(outputs.logits!, item.targets); // ()
    parts.push(op.mulScalar(lm, cfg.lmWeight ?? 1));
  }
  if (item.corr && heads.size > 0) {
    const c = item.corr;
    const pt = buildPairTensors(c.pairs, c.frames, c.patches, c.patchDepth, cfg.negatives);
    const perLayerC: Tensor[] = [], perLayerD: Tensor[] = [];
    for (const [l, head] of [...heads].sort((a, b) => a[0] - b[0])) {
      const x = head.input === "attention" ? outputs.layers[l].attn! : outputs.layers[l].hidden!; // (F·P, d)
      const e = headForward(head, x); // (F·P, o)
      const sim = pairSimilarities(e, pt); // (M, F·P)
      perLayerC.push(infoNceLoss(sim, pt, cfg.tau)); // ()
      if (pt.depthCount > 0) perLayerD.push(depthConsistencyLoss(sim, pt, cfg.tau, cfg.eps)); // ()
    }
    const meanOf = (ts: Tensor[]) => op.mulScalar(ts.reduce((a, b) => op.add(a, b)), 1 / ts.length);
    corr = meanOf(perLayerC);
    depth = perLayerD.length ? meanOf(perLayerD) : null;
    const w = cfg.corrWeight ?? 1;
    if (cfg.lambdaC > 0) parts.push(op.mulScalar(corr, cfg.lambdaC * w));
    if (depth && cfg.lambdaD > 0) parts.push(op.mulScalar(depth, cfg.lambdaD * w));
  }
  const total = parts.length ? parts.reduce((a, b) => op.add(a, b)) : null;
  return { lm, corr, depth, total };
}
