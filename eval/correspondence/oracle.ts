/**
 * Oracle features: each patch's 3-D world point, embedded so that the analysis' cosine argmax equals the
 * nearest neighbour in 3-D. Run through the same matcher and metric code as a model, it must give PCK@2 ≈ 100 %.
 *
 * World point of patch p in frame f: the centre of the pixel containing the patch centre ((c + ½)·W/cols,
 * (r + ½)·H/rows) (the annotator's track query points, so on real shards query and track coincide), back-projected with the depth at that pixel (camera z), K and worldToCamera: X_cam = z·K⁻¹[u, v, 1]ᵀ,
 * X_world = Rᵀ(X_cam − t). If the centre pixel has no depth (0), the patch's average-pooled depth (patchDepth)
 * is used along the same ray; if that is 0 too the patch has no point.
 *
 * Embedding (raw xyz under cosine would rank by direction from the origin, not by distance):
 *   query  q = [x, y, z, 1, 0]
 *   key    k = [x, y, z, −‖x‖²/2, √(C − ‖x‖² − ‖x‖⁴/4)]
 * so q·k = x_q·x_k − ‖x_k‖²/2 = −‖x_q − x_k‖²/2 + ‖x_q‖²/2, and every key has the same norm √C, hence
 * argmax_k cos(q, k) = argmax_k q·k = argmin_k ‖x_q − x_k‖ (the query's own norm is constant along its row).
 * Points are centred on the sequence's mean world point first to keep the numbers small in f32.
 * Patches without a point: the key is k = [0, 0, 0, −B, √(C − B²)] with B = 1.5·R² + 1 (R = largest ‖x‖), whose
 * q·k = −B is below every real key's score (≥ −1.5·R²), so it is never chosen while any real key exists;
 * the query is q = [0, 0, 0, 1, 0] (its prediction is meaningless but such a patch has no track either).
 * Confidence: cosine softmax at DEFAULT_COSINE_TEMPERATURE (the oracle's cosines are not calibrated; only its PCK is a
 * reference).
 */
import {
  DEFAULT_COSINE_TEMPERATURE,
  type LayerFeatures,
  type LayerFeatureSource,
} from "../../core/analysis/features.ts";
import type { CorrespondenceSequence, Frame } from "../../core/scene/types.ts";

export const ORACLE_DIM = 5;

/** (F, P, 3) world points at patch centres and (F, P) validity. */
export function patchCentreWorldPoints(seq: CorrespondenceSequence): { points: Float64Array; valid: Uint8Array } {
  const { rows, cols } = seq.grid;
  const P = rows * cols;
  const F = seq.frames.length;
  const points = new Float64Array(F * P * 3);
  const valid = new Uint8Array(F * P);
  for (let f = 0; f < F; f++) {
    const fr = seq.frames[f];
    for (let p = 0; p < P; p++) {
      // The pixel containing the token centre, at its pixel centre (the annotator's gridQueryPoints: 14.5 for 28 px).
      const j = Math.min(fr.width - 1, Math.floor(((p % cols) + 0.5) * fr.width / cols));
      const i = Math.min(fr.height - 1, Math.floor((Math.floor(p / cols) + 0.5) * fr.height / rows));
      const u = j + 0.5;
      const v = i + 0.5;
      let z = fr.depth[i * fr.width + j];
      if (!(z > 0)) z = seq.patchDepth[f * P + p];
      if (!(z > 0)) continue;
      const w = backProject(fr, u, v, z);
      points.set(w, (f * P + p) * 3);
      valid[f * P + p] = 1;
    }
  }
  return { points, valid };
}

/** X_world = Rᵀ(z·K⁻¹[u, v, 1]ᵀ − t) for a pinhole K with zero skew. */
export function backProject(fr: Frame, u: number, v: number, z: number): [number, number, number] {
  const K = fr.K;
  const yc = ((v - K[1][2]) / K[1][1]) * z;
  const xc = ((u - K[0][2] - K[0][1] * (yc / z)) / K[0][0]) * z;
  const c = [xc, yc, z];
  const E = fr.worldToCamera;
  const out: [number, number, number] = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    out[a] = E[0][a] * (c[0] - E[0][3]) + E[1][a] * (c[1] - E[1][3]) + E[2][a] * (c[2] - E[2][3]);
  }
  return out;
}

/** Oracle features as q/k blocks (F, P, 5), identical for its single "layer". */
export function oracleFeatures(seq: CorrespondenceSequence): LayerFeatures {
  const { points, valid } = patchCentreWorldPoints(seq);
  const n = valid.length;
  const mean = [0, 0, 0];
  let nv = 0;
  for (let i = 0; i < n; i++) {
    if (!valid[i]) continue;
    for (let a = 0; a < 3; a++) mean[a] += points[i * 3 + a];
    nv++;
  }
  for (let a = 0; a < 3; a++) mean[a] /= Math.max(nv, 1);
  let R2 = 0;
  const sq = new Float64Array(n); // ‖x‖² of centred points
  for (let i = 0; i < n; i++) {
    if (!valid[i]) continue;
    for (let a = 0; a < 3; a++) points[i * 3 + a] -= mean[a];
    sq[i] = points[i * 3] ** 2 + points[i * 3 + 1] ** 2 + points[i * 3 + 2] ** 2;
    R2 = Math.max(R2, sq[i]);
  }
  const B = 1.5 * R2 + 1;
  let C = B * B;
  for (let i = 0; i < n; i++) if (valid[i]) C = Math.max(C, sq[i] + sq[i] * sq[i] / 4);
  C = C * 1.001 + 1;
  const D = ORACLE_DIM;
  const q = new Float32Array(n * D);
  const k = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    if (valid[i]) {
      for (let a = 0; a < 3; a++) {
        q[i * D + a] = points[i * 3 + a];
        k[i * D + a] = points[i * 3 + a];
      }
      q[i * D + 3] = 1;
      k[i * D + 3] = -sq[i] / 2;
      k[i * D + 4] = Math.sqrt(C - sq[i] - sq[i] * sq[i] / 4);
    } else {
      q[i * D + 3] = 1;
      k[i * D + 3] = -B;
      k[i * D + 4] = Math.sqrt(C - B * B);
    }
  }
  return { q: [q], k: [k], dim: D, confidence: { kind: "cosine", temperature: DEFAULT_COSINE_TEMPERATURE } };
}

/**
 * The ceiling reference: features whose cosine argmax is the 3-D nearest neighbour (see the file comment), run
 * through the same matcher and metric as a model; PCK@2 ≈ 100 % on correct annotation.
 *
 * @example Oracle and random features against the held-out split `deno task data` wrote
 * ```ts
 * import { oracleFeatureSource, randomFeatureSource, runCorrespondenceEval } from "@gasp/gasp-ts";
 * const { report } = await runCorrespondenceEval({
 *   data: "runs/data",
 *   out: "runs/eval-references",
 *   features: [],
 *   checkpoints: [],
 *   sources: [oracleFeatureSource(), randomFeatureSource({ seed: 0 })],
 * });
 * for (const c of report.checkpoints) console.log(c.name, c.peak.pck);
 * ```
 */
export function oracleFeatureSource(): LayerFeatureSource {
  return { name: "oracle", numLayers: 1, features: (seq) => Promise.resolve(oracleFeatures(seq)) };
}
