/**
 * f64 reference of Eq 9 for one item (train/gasp_loss.ts is the product):
 *   total = lmWeight · L_LM + corrWeight · (λ_c · mean_l L_corr^(l) + λ_d · mean_l L_depth^(l))
 * with L_LM over the answer tokens, and Eq 5 / Eq 8 on each head layer's E = H_c(V^(l)); absent terms are null.
 *
 * Letters: T tokens, V vocabulary, F frames, P patches per frame, d model width.
 */
import type { CorrespondenceHeadParams } from "../correspondence_head.ts";
import type { GaspItem, GaspLossConfig } from "../gasp_loss.ts";
import type { MatF64 } from "../mat_f64.ts";
import { correspondenceHeadForward } from "./correspondence_head.ts";
import { depthConsistencyLoss, type FrameEmbeddings, infoNceLoss, lmLoss } from "./losses.ts";

export interface GaspOutputsF64 {
  /** (T, V), when the item has LM targets. */
  logits?: MatF64 | null;
  /** Per LLM layer: the visual tokens' hidden states (F·P, d), for the head layers. */
  hidden: (MatF64 | null)[];
}

export interface GaspLossF64 {
  lm: number | null;
  corr: number | null;
  depth: number | null;
  total: number | null;
}

export function gaspLossReference(
  outputs: GaspOutputsF64,
  item: GaspItem,
  heads: Map<number, CorrespondenceHeadParams>,
  cfg: GaspLossConfig,
): GaspLossF64 {
  const lm = item.targets ? lmLoss(outputs.logits!, item.targets).loss : null;
  let corr: number | null = null, depth: number | null = null;
  if (item.corr && heads.size > 0) {
    const c = item.corr, corrs: number[] = [], depths: number[] = [];
    for (const [l, head] of heads) {
      const { out } = correspondenceHeadForward(head, outputs.hidden[l]!); // (F·P, o)
      const e: FrameEmbeddings = { frames: c.frames, patches: c.patches, dim: out.cols, data: out.data };
      corrs.push(infoNceLoss(e, c.pairs, cfg.tau, cfg.negatives).loss);
      const d = depthConsistencyLoss(e, c.pairs, c.patchDepth, cfg.tau, cfg.eps);
      if (d.count > 0) depths.push(d.loss);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    corr = mean(corrs);
    depth = depths.length ? mean(depths) : null;
  }
  const terms: number[] = [];
  if (lm !== null) terms.push((cfg.lmWeight ?? 1) * lm);
  const w = cfg.corrWeight ?? 1;
  if (corr !== null && cfg.lambdaC > 0) terms.push(w * cfg.lambdaC * corr);
  if (depth !== null && cfg.lambdaD > 0) terms.push(w * cfg.lambdaD * depth);
  return { lm, corr, depth, total: terms.length ? terms.reduce((a, b) => a + b, 0) : null };
}
