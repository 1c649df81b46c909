/**
 * Trivial feature sources every correspondence number is reported beside (issue 13): if a model cannot beat them,
 * its PCK says nothing about geometry.
 *   stationary: "the point did not move", each query predicts its own token. Features are one-hot patch codes
 *               (q = k = e_p, dim P), so the cosine argmax over a target frame's keys is the query's own index.
 *   pixels:     the raw pixels of each token's 28 × 28 patch (CLIP-normalised RGB as the vision tower receives them,
 *               dim 28·28·3), cosine: what plain appearance matching achieves with no network at all.
 * The vision-tower source (the LLM's input tokens, no LLM layer) needs a model: model_features.ts.
 * Confidence: pixels use the cosine softmax at DEFAULT_COSINE_TEMPERATURE; stationary has none to give, so it uses
 * softmax(0 · q·k) = 1/P exactly on every row (a cosine softmax would be constant only up to f32 rounding, which the
 * device matchers turn into a spurious ρ); its ρ is therefore undefined.
 *
 * Dimension letters: F frames, P patches per frame, D feature dim.
 */
import { CLIP_MEAN, CLIP_STD } from "../image/preprocess.ts";
import { ShapeMismatchError } from "../errors.ts";
import type { CorrespondenceSequence } from "../scene/types.ts";
import { DEFAULT_COSINE_TEMPERATURE, type LayerFeatures, type LayerFeatureSource } from "./features.ts";

export const STATIONARY_SOURCE = "stationary";
export const PIXELS_SOURCE = "pixels";
export const VISION_SOURCE = "vision";

/** One-hot patch codes: (F, P, P) with q[f, p, p] = 1. */
export function stationaryFeatures(seq: CorrespondenceSequence): LayerFeatures {
  const F = seq.frames.length, P = seq.grid.rows * seq.grid.cols;
  const x = new Float32Array(F * P * P); // (F, P, P)
  for (let f = 0; f < F; f++) for (let p = 0; p < P; p++) x[(f * P + p) * P + p] = 1;
  return { q: [x], k: [x], dim: P, confidence: { kind: "scaledDot", scale: 0 } };
}

/** The "point did not move" baseline: each query predicts its own token (see the file comment). */
export function stationaryFeatureSource(): LayerFeatureSource {
  return { name: STATIONARY_SOURCE, numLayers: 1, features: (seq) => Promise.resolve(stationaryFeatures(seq)) };
}

/** Each token's patch pixels, CLIP-normalised, row-major (y, x, channel) within the patch: (F, P, s·s·3). */
export function pixelFeatures(seq: CorrespondenceSequence): LayerFeatures {
  const { rows, cols, patchSize: s } = seq.grid;
  const F = seq.frames.length, P = rows * cols, D = s * s * 3;
  const x = new Float32Array(F * P * D); // (F, P, D)
  seq.frames.forEach((fr, f) => {
    if (fr.width !== cols * s || fr.height !== rows * s) {
      throw new ShapeMismatchError("pixelFeatures", `frame ${f} is ${fr.width}×${fr.height}, grid wants ${cols * s}²`);
    }
    for (let p = 0; p < P; p++) {
      const r0 = Math.floor(p / cols) * s, c0 = (p % cols) * s;
      let o = (f * P + p) * D;
      for (let y = 0; y < s; y++) {
        for (let xx = 0; xx < s; xx++) {
          const i = ((r0 + y) * fr.width + c0 + xx) * 3;
          for (let c = 0; c < 3; c++) x[o++] = (fr.rgb[i + c] / 255 - CLIP_MEAN[c]) / CLIP_STD[c];
        }
      }
    }
  });
  return { q: [x], k: [x], dim: D, confidence: { kind: "cosine", temperature: DEFAULT_COSINE_TEMPERATURE } };
}

/** The raw-pixel baseline: cosine matching of each token's CLIP-normalised patch pixels. */
export function pixelFeatureSource(): LayerFeatureSource {
  return { name: PIXELS_SOURCE, numLayers: 1, features: (seq) => Promise.resolve(pixelFeatures(seq)) };
}
