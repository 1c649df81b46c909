/**
 * f64 reference of the geometric half of one training step for one layer (Eq 4-9, App. E Eq 15/21): hidden states
 * of the layer's visual tokens → correspondence head → λ_c L_corr + λ_d L_depth → gradients for the head's
 * parameters and for the hidden states (the "gradient bridge" into the backbone). The GPU step is tested against it.
 *
 * Dimension letters: F frames, P patches per frame, d model width, o head output width.
 */
import { ShapeMismatchError } from "../../core/errors.ts";
import type { CorrespondenceHeadParams } from "../correspondence_head.ts";
import type { CorrespondencePair, NegativeSet } from "../correspondence_pairs.ts";
import type { MatF64 } from "../mat_f64.ts";
import { correspondenceHeadBackward, correspondenceHeadForward, type HeadGrads } from "./correspondence_head.ts";
import { depthConsistencyLoss, type FrameEmbeddings, infoNceLoss } from "./losses.ts";

export interface LayerCorrespondenceInput {
  /** Hidden states of the layer's visual tokens, frame-major: row f · P + p.   (F·P, d) */
  hidden: MatF64;
  frames: number;
  patches: number;
  pairs: CorrespondencePair[];
  /** Average-pooled patch depths (F, P) (CorrespondenceSequence.patchDepth). */
  patchDepth: Float32Array | Float64Array;
}

export interface GeometricLossOptions {
  lambdaC: number;
  lambdaD: number;
  tau: number;
  eps: number;
  negatives: NegativeSet;
}

export interface LayerCorrespondenceResult {
  corr: number;
  depth: number;
  /** λ_c L_corr + λ_d L_depth: this layer's share of Eq 9. */
  weighted: number;
  /** Gradients of `weighted` for the head's parameters; dX is dL/d(hidden) (Eq 21). */
  grads: HeadGrads;
  /** The embeddings E = H_c(hidden) (F·P, o), e.g. for PCK. */
  embeddings: MatF64;
}

/** Forward and backward of λ_c L_corr + λ_d L_depth through one layer's head. */
export function layerCorrespondenceLoss(
  head: CorrespondenceHeadParams,
  input: LayerCorrespondenceInput,
  o: GeometricLossOptions,
): LayerCorrespondenceResult {
  if (input.hidden.rows !== input.frames * input.patches) {
    throw new ShapeMismatchError("layerCorrespondenceLoss", `hidden rows ${input.hidden.rows} vs F·P`);
  }
  const { out, cache } = correspondenceHeadForward(head, input.hidden); // (F·P, o)
  const e: FrameEmbeddings = { frames: input.frames, patches: input.patches, dim: out.cols, data: out.data };
  const corr = infoNceLoss(e, input.pairs, o.tau, o.negatives);
  const depth = o.lambdaD > 0
    ? depthConsistencyLoss(e, input.pairs, input.patchDepth, o.tau, o.eps)
    : { loss: 0, grad: new Float64Array(out.data.length), count: 0 };
  // dL/dE = λ_c dL_corr/dE + λ_d dL_depth/dE
  const dE = {
    rows: out.rows,
    cols: out.cols,
    data: corr.grad.map((g, i) => o.lambdaC * g + o.lambdaD * depth.grad[i]),
  };
  const grads = correspondenceHeadBackward(head, cache, dE);
  return {
    corr: corr.loss,
    depth: depth.loss,
    weighted: o.lambdaC * corr.loss + o.lambdaD * depth.loss,
    grads,
    embeddings: out,
  };
}

/** Fraction of pairs whose most similar target-frame patch (cosine argmax) is the true one (PCK at patch level). */
export function patchMatchAccuracy(e: FrameEmbeddings, pairs: CorrespondencePair[]): number {
  if (pairs.length === 0) return 0;
  const { patches: P, dim: D } = e;
  const row = (r: number) => e.data.subarray(r * D, (r + 1) * D);
  const cos = (a: Float64Array, b: Float64Array) => {
    let dot = 0, na = 0, nb = 0;
    for (let c = 0; c < D; c++) {
      dot += a[c] * b[c];
      na += a[c] * a[c];
      nb += b[c] * b[c];
    }
    return dot / Math.sqrt(na * nb || 1);
  };
  let hits = 0;
  for (const p of pairs) {
    const a = row(p.anchorFrame * P + p.anchorPatch);
    let best = -1, bestS = -Infinity;
    for (let j = 0; j < P; j++) {
      const s = cos(a, row(p.targetFrame * P + j));
      if (s > bestS) [best, bestS] = [j, s];
    }
    if (best === p.targetPatch) hits++;
  }
  return hits / pairs.length;
}
