/**
 * Feature matching, f64 CPU reference (App. C: S = CosineSim(Q_0, K_jᵀ), p̂_i = argmax_j S_ij).
 * The GPU matcher (matmul of l2-normalised features, argmax, max-softmax) must agree with this on predictions
 * (up to f32 near-ties) and on confidences to ~1e-5.
 */
import { ShapeMismatchError } from "../errors.ts";
import type { ConfidenceRule, FeatureBatch, MatchResult } from "./features.ts";

/** Norm clamp for cosine similarity (F.normalize's eps). */
export const COSINE_NORM_EPS = 1e-12;

/** Checks shapes and returns the number of key batches served by each query batch. */
export function checkMatchShapes(query: FeatureBatch, key: FeatureBatch): number {
  if (query.dim !== key.dim) {
    throw new ShapeMismatchError("matchFeatures", `query dim ${query.dim} != key dim ${key.dim}`);
  }
  for (const [name, b] of [["query", query], ["key", key]] as const) {
    if (!(b.batch > 0 && b.rows > 0 && b.dim > 0)) {
      throw new ShapeMismatchError("matchFeatures", `${name} has empty shape (${b.batch}, ${b.rows}, ${b.dim})`);
    }
    if (b.data.length < b.batch * b.rows * b.dim) {
      throw new ShapeMismatchError(
        "matchFeatures",
        `${name} data has ${b.data.length} values, shape (${b.batch}, ${b.rows}, ${b.dim}) needs ${
          b.batch * b.rows * b.dim
        }`,
      );
    }
  }
  if (key.batch % query.batch !== 0) {
    throw new ShapeMismatchError("matchFeatures", `query batch ${query.batch} does not divide key batch ${key.batch}`);
  }
  return key.batch / query.batch;
}

/** f64 reference matcher: argmax of cosine similarity (first index on ties) and max softmax probability. */
export function matchFeaturesCpu(query: FeatureBatch, key: FeatureBatch, confidence: ConfidenceRule): MatchResult {
  const group = checkMatchShapes(query, key);
  const { dim: D, rows: Nq } = query;
  const Nk = key.rows;
  const pred = new Int32Array(key.batch * Nq);
  const conf = new Float32Array(key.batch * Nq);
  const keyNorms = rowNorms(key);
  const queryNorms = rowNorms(query);
  const dots = new Float64Array(Nk); // (N_k) raw q·k of one query row
  const logits = new Float64Array(Nk); // (N_k) softmax inputs
  for (let b = 0; b < key.batch; b++) {
    const qb = Math.floor(b / group);
    for (let i = 0; i < Nq; i++) {
      const qOff = (qb * Nq + i) * D;
      const qNorm = queryNorms[qb * Nq + i];
      let best = 0;
      let bestCos = -Infinity;
      for (let j = 0; j < Nk; j++) {
        const kOff = (b * Nk + j) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += query.data[qOff + d] * key.data[kOff + d];
        dots[j] = dot;
        const cos = dot / (Math.max(qNorm, COSINE_NORM_EPS) * Math.max(keyNorms[b * Nk + j], COSINE_NORM_EPS));
        if (cos > bestCos) { // strict: the first maximum wins
          bestCos = cos;
          best = j;
        }
        logits[j] = confidence.kind === "cosine" ? cos / confidence.temperature : dot * confidence.scale;
      }
      pred[b * Nq + i] = best;
      conf[b * Nq + i] = maxSoftmax(logits);
    }
  }
  return { pred, conf };
}

/** The CPU reference as a `FeatureMatcher` (async signature shared with the GPU matcher). */
export function cpuMatcher(query: FeatureBatch, key: FeatureBatch, confidence: ConfidenceRule): Promise<MatchResult> {
  return Promise.resolve(matchFeaturesCpu(query, key, confidence));
}

/** max_j softmax(x)_j = 1 / Σ_j exp(x_j − max x), in f64. */
export function maxSoftmax(logits: ArrayLike<number>): number {
  let m = -Infinity;
  for (let j = 0; j < logits.length; j++) if (logits[j] > m) m = logits[j];
  let z = 0;
  for (let j = 0; j < logits.length; j++) z += Math.exp(logits[j] - m);
  return 1 / z;
}

function rowNorms(b: FeatureBatch): Float64Array {
  const n = b.batch * b.rows;
  const out = new Float64Array(n); // (batch · rows)
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let d = 0; d < b.dim; d++) {
      const v = b.data[r * b.dim + d];
      s += v * v;
    }
    out[r] = Math.sqrt(s);
  }
  return out;
}
