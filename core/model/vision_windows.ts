/**
 * Index math of the Qwen2.5-VL vision tower (HF Qwen2_5_VisionTransformerPretrainedModel: rot_pos_emb,
 * get_window_index, cu_seqlens), shared by the f64 reference, the ONNX vision graph inputs and the GPU forward.
 *
 * Patches arrive in HF pixel_values order: per frame, merge units of M×M patches in raster order of units.
 * Window attention groups merge units into windows of W = window_size / M / patch_size units per side (padding
 * the unit grid up; HF pads a full extra window when the side is already divisible, and those empty windows vanish
 * from cu_seqlens by unique_consecutive). Full-attention blocks attend within each frame (grid_h · grid_w patches).
 *
 * Worked example (tiny: patch 14, M = 2, window 56 -> W = 2): a 112² image has a 8×8 patch grid = 4×4 units;
 * windows are 2×2 units, so window_index = [0 1 4 5, 2 3 6 7, 8 9 12 13, 10 11 14 15] and cu_window_seqlens =
 * [0, 16, 32, 48, 64] (16 patches per window), cu_seqlens (full) = [0, 64].
 */
import type { VlmConfig } from "./config.ts";
import { visionHeadDim } from "./config.ts";

/** (grid_t, grid_h, grid_w) of one image or video, in patches before the 2x2 merge. */
export type GridThw = readonly [number, number, number];

/** (N, 2) rotary (h, w) position of every patch, in pixel_values order. */
export function visionRotaryPositions(grids: GridThw[], mergeSize: number): Int32Array {
  const N = grids.reduce((s, g) => s + g[0] * g[1] * g[2], 0);
  const out = new Int32Array(N * 2);
  let r = 0;
  for (const [t, h, w] of grids) {
    for (let f = 0; f < t; f++) {
      for (let bh = 0; bh < h / mergeSize; bh++) {
        for (let bw = 0; bw < w / mergeSize; bw++) {
          for (let mh = 0; mh < mergeSize; mh++) {
            for (let mw = 0; mw < mergeSize; mw++, r++) {
              out[r * 2] = bh * mergeSize + mh;
              out[r * 2 + 1] = bw * mergeSize + mw;
            }
          }
        }
      }
    }
  }
  return out;
}

/**
 * Rotary cos/sin (N, head_dim) for vision patches: inv_freq_i = 1 / 10000^(2i / (D/2)), i < D/4; per patch the
 * angles are [h · inv_freq, w · inv_freq] (D/2), repeated twice (rotate_half layout).
 */
export function visionRotaryCosSin(config: VlmConfig, grids: GridThw[]): { cos: Float64Array; sin: Float64Array } {
  const D = visionHeadDim(config);
  const pos = visionRotaryPositions(grids, config.vision_config.spatial_merge_size);
  const N = pos.length / 2;
  const q = D / 4;
  const invFreq = Array.from({ length: q }, (_, i) => 1 / Math.pow(10000, (2 * i) / (D / 2)));
  const cos = new Float64Array(N * D), sin = new Float64Array(N * D);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < D; i++) {
      const j = i % (D / 2);
      const a = (j < q ? pos[n * 2] : pos[n * 2 + 1]) * invFreq[j % q];
      cos[n * D + i] = Math.cos(a);
      sin[n * D + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}

/** HF get_window_index: merge-unit permutation into window order, and window boundaries in patches. */
export function visionWindowIndex(config: VlmConfig, grids: GridThw[]): {
  windowIndex: Int32Array;
  cuWindowSeqlens: number[];
} {
  const v = config.vision_config;
  const M = v.spatial_merge_size;
  const W = v.window_size / M / v.patch_size;
  const index: number[] = [];
  const cu: number[] = [0];
  let base = 0;
  for (const [t, h, w] of grids) {
    const gh = h / M, gw = w / M;
    const padH = W - (gh % W), padW = W - (gw % W);
    const nwh = (gh + padH) / W, nww = (gw + padW) / W;
    for (let f = 0; f < t; f++) {
      for (let wy = 0; wy < nwh; wy++) {
        for (let wx = 0; wx < nww; wx++) {
          let count = 0;
          for (let y = wy * W; y < (wy + 1) * W; y++) {
            for (let x = wx * W; x < (wx + 1) * W; x++) {
              if (y < gh && x < gw) {
                index.push(base + (f * gh + y) * gw + x);
                count++;
              }
            }
          }
          const next = cu[cu.length - 1] + count * M * M;
          if (next !== cu[cu.length - 1]) cu.push(next); // unique_consecutive
        }
      }
    }
    base += t * gh * gw;
  }
  return { windowIndex: Int32Array.from(index), cuWindowSeqlens: cu };
}

/** Full-attention boundaries: one segment per frame of every grid (HF repeat_interleave(h·w, t).cumsum). */
export function visionCuSeqlens(grids: GridThw[]): number[] {
  const cu = [0];
  for (const [t, h, w] of grids) for (let f = 0; f < t; f++) cu.push(cu[cu.length - 1] + h * w);
  return cu;
}

/** Permute rows of groups of `unit` rows: out[k] = in[index[k]] (HF hidden[window_index] on (N/unit, unit, C)). */
export function permuteUnits<T extends Float32Array | Float64Array>(
  x: T,
  index: Int32Array,
  unit: number,
  width: number,
): T {
  const out = new (x.constructor as { new (n: number): T })(x.length);
  const span = unit * width;
  for (let k = 0; k < index.length; k++) out.set(x.subarray(index[k] * span, (index[k] + 1) * span), k * span);
  return out;
}

/** argsort of a permutation. */
export function inversePermutation(index: Int32Array): Int32Array {
  const inv = new Int32Array(index.length);
  for (let k = 0; k < index.length; k++) inv[index[k]] = k;
  return inv;
}

/** Additive attention bias (N, N): 0 within a cu_seqlens segment, `neg` across segments. */
export function segmentBias(cu: number[], neg = -1e9): Float32Array {
  const N = cu[cu.length - 1];
  const out = new Float32Array(N * N).fill(neg);
  for (let s = 0; s + 1 < cu.length; s++) {
    for (let i = cu[s]; i < cu[s + 1]; i++) out.fill(0, i * N + cu[s], i * N + cu[s + 1]);
  }
  return out;
}
