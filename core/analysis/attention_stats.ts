/**
 * Where a model's attention goes, for the candidate-cause table of issue 13 ("why the backbone does not change"):
 * per LLM layer, over the visual queries of the later frames (frames 1 … F−1),
 *   ownFrameShare      the attention mass a query puts on its own frame's visual tokens,
 *   frame0Share        the mass it puts on frame 0's visual tokens,
 *   trueMatchAttention for each scored pair (track t, frame k; analyze.ts `scoredQueries`), the attention from the
 *                      query at the track's patch in frame k to the key at its frame-0 patch (the true match),
 * each beside what uniform causal attention would give (…Uniform: own frame (i + 1)/(pos + 1), frame 0 P/(pos + 1),
 * true match 1/(pos + 1) for the query at prompt position pos and within-frame index i).
 * Attention is the model's own: softmax(q·k/√D) of the post-RoPE queries and keys over every earlier token (causal,
 * text included), averaged over the query heads (for GQA each query head uses its key head).
 * Also, per layer, how collapsed the (pre-RoPE, head-averaged) visual queries and keys are: ‖mean q‖ / mean ‖q‖
 * (1 when all are one shared direction and length; qMeanNormRatio, kMeanNormRatio).
 *
 * Dimension letters: T tokens, Nv visual tokens (= F·P, frame-major), H heads, D head dim.
 */
import { ShapeMismatchError } from "../errors.ts";
import type { CorrespondenceSequence } from "../scene/types.ts";
import { scoredQueries } from "./analyze.ts";

export interface LayerAttentionInput {
  /** (Nv, Hq, D) post-RoPE queries of the visual tokens. */
  q: Float32Array;
  /** (Hkv, T, D) post-RoPE keys of every prompt token. */
  k: Float32Array;
}

export interface AttentionShape {
  /** Prompt length T. */
  tokens: number;
  qHeads: number;
  kvHeads: number;
  headDim: number;
  /** (Nv) prompt position of each visual token, frame-major. */
  visualPositions: Int32Array;
}

export type LayerScalars = Record<string, { perLayer: number[]; weight: number }>;

/** The attention scalars of one sequence (see the file comment), per layer, with their weights. */
export function attentionStats(
  layers: LayerAttentionInput[],
  s: AttentionShape,
  seq: CorrespondenceSequence,
): LayerScalars {
  const F = seq.frames.length, P = seq.grid.rows * seq.grid.cols;
  const { tokens: T, qHeads: Hq, kvHeads: Hkv, headDim: D } = s;
  const vp = s.visualPositions;
  if (vp.length !== F * P) throw new ShapeMismatchError("attentionStats", `${vp.length} visual tokens, want F·P`);
  const group = Hq / Hkv;
  const scale = 1 / Math.sqrt(D);
  const pairs = scoredQueries(seq);
  const nQ = (F - 1) * P;
  const own: number[] = [], first: number[] = [], match: number[] = [];
  let uOwn = 0, uFirst = 0, uMatch = 0;
  for (let r = P; r < F * P; r++) {
    const pos = vp[r];
    uOwn += ((r % P) + 1) / (pos + 1);
    uFirst += P / (pos + 1);
  }
  for (const x of pairs) uMatch += 1 / (vp[x.k * P + x.gt] + 1);
  for (const [l, { q, k }] of layers.entries()) {
    if (q.length !== F * P * Hq * D || k.length !== Hkv * T * D) {
      throw new ShapeMismatchError("attentionStats", `layer ${l}: q ${q.length}, k ${k.length} values`);
    }
    const prob = new Float64Array(T); // head-averaged attention of one query over keys 0 … pos
    const logit = new Float64Array(T);
    const toFirst = new Float64Array(nQ * P); // (F−1)·P queries × frame-0 keys
    let sOwn = 0, sFirst = 0;
    for (let r = P; r < F * P; r++) {
      const pos = vp[r];
      prob.fill(0, 0, pos + 1);
      for (let h = 0; h < Hq; h++) {
        const qo = (r * Hq + h) * D, ko = Math.floor(h / group) * T * D;
        let m = -Infinity;
        for (let j = 0; j <= pos; j++) {
          let d = 0;
          for (let e = 0; e < D; e++) d += q[qo + e] * k[ko + j * D + e];
          logit[j] = d * scale;
          if (logit[j] > m) m = logit[j];
        }
        let z = 0;
        for (let j = 0; j <= pos; j++) {
          logit[j] = Math.exp(logit[j] - m);
          z += logit[j];
        }
        for (let j = 0; j <= pos; j++) prob[j] += logit[j] / z / Hq;
      }
      const f = Math.floor(r / P);
      for (let i = f * P; i < (f + 1) * P; i++) if (vp[i] <= pos) sOwn += prob[vp[i]];
      for (let i = 0; i < P; i++) {
        toFirst[(r - P) * P + i] = prob[vp[i]];
        sFirst += prob[vp[i]];
      }
    }
    own.push(sOwn / nQ);
    first.push(sFirst / nQ);
    let sMatch = 0;
    for (const x of pairs) sMatch += toFirst[((x.k - 1) * P + x.gt) * P + x.q];
    match.push(pairs.length ? sMatch / pairs.length : NaN);
  }
  const L = layers.length;
  const same = (v: number) => new Array(L).fill(v);
  return {
    ownFrameShare: { perLayer: own, weight: nQ },
    ownFrameShareUniform: { perLayer: same(uOwn / nQ), weight: nQ },
    frame0Share: { perLayer: first, weight: nQ },
    frame0ShareUniform: { perLayer: same(uFirst / nQ), weight: nQ },
    trueMatchAttention: { perLayer: match, weight: pairs.length },
    trueMatchAttentionUniform: { perLayer: same(pairs.length ? uMatch / pairs.length : NaN), weight: pairs.length },
  };
}

/** ‖mean of the rows‖ / mean of the row norms of an (N, D) block; NaN when every row is zero. */
export function meanNormRatio(x: Float32Array, rows: number, dim: number): number {
  const mean = new Float64Array(dim);
  let norms = 0;
  for (let r = 0; r < rows; r++) {
    let n2 = 0;
    for (let d = 0; d < dim; d++) {
      const v = x[r * dim + d];
      mean[d] += v / rows;
      n2 += v * v;
    }
    norms += Math.sqrt(n2) / rows;
  }
  let m2 = 0;
  for (let d = 0; d < dim; d++) m2 += mean[d] * mean[d];
  return norms > 0 ? Math.sqrt(m2) / norms : NaN;
}

/** The rows of an (N, D) block minus their mean (the mean-centred read-out of Q/K). */
export function centreRows(x: Float32Array, rows: number, dim: number): Float32Array {
  const mean = new Float64Array(dim);
  for (let r = 0; r < rows; r++) for (let d = 0; d < dim; d++) mean[d] += x[r * dim + d] / rows;
  const out = new Float32Array(rows * dim); // (N, D)
  for (let r = 0; r < rows; r++) for (let d = 0; d < dim; d++) out[r * dim + d] = x[r * dim + d] - mean[d];
  return out;
}
