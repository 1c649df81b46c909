/**
 * A toy world for loop tests: a small VLM config (2 LLM layers, 64 wide), the tiny tokenizer, and sequences of
 * 56² frames (grid (1, 4, 4) patches = 2 × 2 merged tokens per frame) with tracks, patch depths and a scene.
 */
import { parseVlmConfig, TINY_CONFIG, type VlmConfig } from "../../core/model/config.ts";
import { Rng } from "../../core/random.ts";
import type { CorrespondenceSequence, Frame, SceneDescription, Track } from "../../core/scene/types.ts";

export const TOY_CONFIG: VlmConfig = parseVlmConfig({
  ...TINY_CONFIG,
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  vision_config: {
    ...TINY_CONFIG.vision_config,
    hidden_size: 32,
    intermediate_size: 64,
    num_heads: 1,
    out_hidden_size: 64,
  },
});

const SCENE: SceneDescription = {
  id: "toy",
  seed: 0,
  roomSize: [4, 3, 4],
  up: [0, 1, 0],
  objects: [
    { id: 1, shape: "box", name: "red box", color: "red", center: [1, 0.5, 3], size: [0.5, 0.5, 0.5] },
    { id: 2, shape: "sphere", name: "blue sphere", color: "blue", center: [-1, 0.5, 5], size: [0.6, 0.6, 0.6] },
  ],
};

/** n sequences of F frames, 56² px, 2 × 2 patch grid; each frame is the previous one's colours rolled by one patch. */
export function toySequences(n: number, F = 3, seed = 0): CorrespondenceSequence[] {
  const rng = new Rng(seed);
  const S = 56, G = 2, P = G * G;
  return Array.from({ length: n }, (_, s) => {
    const colors = Array.from({ length: P }, () => [rng.int(256), rng.int(256), rng.int(256)]);
    const frames: Frame[] = [];
    for (let f = 0; f < F; f++) {
      const rgb = new Uint8Array(S * S * 3);
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const p = Math.floor(y / 28) * G + Math.floor(x / 28);
          const c = colors[(p + f) % P];
          for (let k = 0; k < 3; k++) rgb[(y * S + x) * 3 + k] = c[k];
        }
      }
      frames.push({
        width: S,
        height: S,
        K: [[50, 0, 28], [0, 50, 28], [0, 0, 1]],
        worldToCamera: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]],
        rgb,
        depth: new Float32Array(S * S).fill(2),
      });
    }
    // Track t starts at patch t in frame 0 and sits at patch (t − f) mod P in frame f (where colour t went).
    const tracks: Track[] = [];
    const targetPatch = new Int32Array(P * F);
    for (let t = 0; t < P; t++) {
      const points: ([number, number] | null)[] = [];
      const depths: (number | null)[] = [];
      for (let f = 0; f < F; f++) {
        const visible = f === 0 || (t + f) % 3 !== 0;
        const p = (((t - f) % P) + P) % P;
        targetPatch[t * F + f] = visible ? p : -1;
        points.push(visible ? [(p % G) * 28 + 14, Math.floor(p / G) * 28 + 14] : null);
        depths.push(visible ? 1 + p : null);
      }
      tracks.push({ anchorFrame: 0, points, visible: points.map((q) => q !== null), depths });
    }
    const patchDepth = Float32Array.from({ length: F * P }, (_, i) => 1 + (i % P));
    return {
      id: `toy-${s}`,
      sceneId: "toy",
      frameIndices: [...Array(F).keys()],
      frames,
      grid: { rows: G, cols: G, patchSize: 28 },
      tracks,
      targetPatch,
      patchDepth,
      negatives: tracks.map(() => Array(F).fill(null)),
      scene: SCENE,
    };
  });
}
