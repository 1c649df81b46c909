/**
 * Random features: i.i.d. standard normal queries and keys, seeded per (source seed, sequence index). The keys of
 * a target frame are exchangeable, so the cosine argmax is uniform over the grid and PCK equals the analytic chance
 * level (core/analysis/pck.ts chancePck) in expectation. Confidence: cosine softmax at DEFAULT_COSINE_TEMPERATURE.
 */
import {
  DEFAULT_COSINE_TEMPERATURE,
  type LayerFeatures,
  type LayerFeatureSource,
} from "../../core/analysis/features.ts";
import { ConfigError } from "../../core/errors.ts";
import { Rng } from "../../core/random.ts";
import type { CorrespondenceSequence } from "../../core/scene/types.ts";

/** Seed and shape of the random reference features. */
export interface RandomFeatureOptions {
  /** Seed of the features (each call draws from a stream derived from it and the call's order). */
  seed: number;
  /** Independent random layers (each gives one chance-level estimate). */
  numLayers?: number;
  /** Feature width (default 64). */
  dim?: number;
}

export const DEFAULT_RANDOM_LAYERS = 4;
export const DEFAULT_RANDOM_DIM = 64;

/** The chance reference: i.i.d. Gaussian features per patch, so PCK is the chance level of the same ground truths. */
export function randomFeatureSource(o: RandomFeatureOptions): LayerFeatureSource {
  const L = o.numLayers ?? DEFAULT_RANDOM_LAYERS;
  const D = o.dim ?? DEFAULT_RANDOM_DIM;
  if (!(Number.isInteger(L) && L >= 1 && Number.isInteger(D) && D >= 1)) {
    throw new ConfigError("random features", `numLayers and dim must be positive integers, got ${L}, ${D}`);
  }
  let calls = 0;
  return {
    name: "random",
    numLayers: L,
    features(seq: CorrespondenceSequence): Promise<LayerFeatures> {
      // One stream per call, derived from the seed and the call's order, so runs are reproducible.
      const rng = new Rng((o.seed * 0x9e3779b1 + calls++) >>> 0);
      const n = seq.frames.length * seq.grid.rows * seq.grid.cols * D;
      const fill = () => {
        const a = new Float32Array(n); // (F, P, D)
        for (let i = 0; i < n; i++) a[i] = rng.normal();
        return a;
      };
      const q: Float32Array[] = [];
      const k: Float32Array[] = [];
      for (let l = 0; l < L; l++) {
        q.push(fill());
        k.push(fill());
      }
      return Promise.resolve({ q, k, dim: D, confidence: { kind: "cosine", temperature: DEFAULT_COSINE_TEMPERATURE } });
    },
  };
}
