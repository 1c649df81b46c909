/**
 * Multimodal RoPE (M-RoPE) position ids, exactly as Hugging Face's `Qwen2_5_VLModel.get_rope_index`
 * (transformers src/transformers/models/qwen2_5_vl/modeling_qwen2_5_vl.py, v4.49-4.53; same algorithm as the
 * Qwen2.5-VL paper Sec. 2.1 and transformers.js `get_rope_index`).
 *
 * Every token gets three ids (t, h, w). Text tokens use the same running index in all three. A vision block of
 * llm grid (gt, gh, gw) = (t, h/M, w/M) merged tokens starts at s = (max id so far) + 1 and gives token (i, j, k)
 *   t = s + floor(i · second_per_grid_t · tokens_per_second),  h = s + j,  w = s + k
 * with second_per_grid_t = 0 for images and temporal_patch_size / fps for videos (default 1.0). Text after the
 * block continues from (max id so far) + 1. rope_delta = max id + 1 - sequence length; during decoding the token at
 * cache position p gets p + rope_delta in all three.
 *
 * Worked example (tiny config, M = 2, tokens_per_second = 2; VS/VE = vision start/end):
 *   tokens: t0 t1 VS [IMG x4: grid (1,4,4)] VE t2 VS [VID x8: grid (2,4,4), 1 s per grid step] VE t3
 *   index:   0  1  2   3..6                 7  8  9   10..17                                  18 19
 *   t:       0  1  2   3  3  3  3           5  6  7   8 8 8 8 10 10 10 10                     11 12
 *   h:       0  1  2   3  3  4  4           5  6  7   8 8 9 9  8  8  9  9                     11 12
 *   w:       0  1  2   3  4  3  4           5  6  7   8 9 8 9  8  9  8  9                     11 12
 *   rope_delta = 12 + 1 - 20 = -7
 *
 * `frame_positions: "video"` (a GASP-TS config key; issue 13 item 6) lays a prompt's images out as the frames of one
 * video instead: every image whose merged grid equals the first image's reuses that image's h/w ids (s0 + j,
 * s0 + k), and its temporal id is its own start s (one temporal index per frame, increasing with the frame); text
 * and the vision start/end tokens between frames keep the running index. Images then differ only in t, as the
 * frames of a Qwen video do, but each frame keeps its own tokens (no temporal 2-frame merge; train/samples.ts).
 */
import type { VlmConfig } from "./config.ts";

/** One image's or video's patch grid, as getRopeIndex needs it. */
export interface VisionGrid {
  /** (grid_t, grid_h, grid_w) in patches (before the 2x2 merge). */
  gridThw: readonly [number, number, number];
  /** Videos only: seconds per temporal grid step (temporal_patch_size / fps); HF uses 1.0 when absent. */
  secondPerGridT?: number;
}

/** M-RoPE ids of one sequence and its rope delta. */
export interface RopeIndex {
  /** (3, T): t, h, w position id per token. */
  positionIds: [Int32Array, Int32Array, Int32Array];
  /** max position + 1 - number of attended tokens. */
  ropeDelta: number;
}

/**
 * M-RoPE ids for one sequence. `attentionMask` (1 = real token) defaults to all ones; masked tokens get id 1 as in
 * HF. Images and videos are consumed in prompt order.
 */
export function getRopeIndex(
  config: VlmConfig,
  inputIds: ArrayLike<number>,
  images: VisionGrid[] = [],
  videos: VisionGrid[] = [],
  attentionMask?: ArrayLike<number>,
): RopeIndex {
  const n = inputIds.length;
  const keep: number[] = [];
  for (let i = 0; i < n; i++) if (!attentionMask || attentionMask[i] === 1) keep.push(i);
  const ids = keep.map((i) => inputIds[i]);
  const M = config.vision_config.spatial_merge_size;
  const tps = config.vision_config.tokens_per_second;
  const t: number[] = [], h: number[] = [], w: number[] = [];
  let maxId = -1;
  const pushText = (len: number) => {
    const s = maxId + 1;
    for (let i = 0; i < len; i++) {
      t.push(s + i), h.push(s + i), w.push(s + i);
    }
    if (len > 0) maxId = s + len - 1;
  };
  const asVideo = config.frame_positions === "video";
  // "video": the first image's h/w start and merged grid; later images of that grid share its h/w ids.
  let firstImage: { s: number; gh: number; gw: number } | null = null;
  let imageIndex = 0, videoIndex = 0, st = 0;
  let remainImages = 0, remainVideos = 0;
  for (let i = 0; i + 1 < ids.length; i++) {
    if (ids[i] !== config.vision_start_token_id) continue;
    if (ids[i + 1] === config.image_token_id) remainImages++;
    if (ids[i + 1] === config.video_token_id) remainVideos++;
  }
  const total = remainImages + remainVideos;
  for (let b = 0; b < total; b++) {
    const edImage = remainImages > 0 ? indexFrom(ids, config.image_token_id, st) : ids.length + 1;
    const edVideo = remainVideos > 0 ? indexFrom(ids, config.video_token_id, st) : ids.length + 1;
    let grid: VisionGrid, secondPerGridT: number, ed: number;
    if (edImage < edVideo) {
      grid = images[imageIndex++];
      if (!grid) throw new Error(`prompt has more image blocks than the ${images.length} image grids given`);
      secondPerGridT = 0;
      remainImages--;
      ed = edImage;
    } else {
      grid = videos[videoIndex++];
      if (!grid) throw new Error(`prompt has more video blocks than the ${videos.length} video grids given`);
      secondPerGridT = grid.secondPerGridT ?? 1.0;
      remainVideos--;
      ed = edVideo;
    }
    const [gt, gh, gw] = [grid.gridThw[0], grid.gridThw[1] / M, grid.gridThw[2] / M];
    pushText(ed - st);
    const s = maxId + 1;
    let hw = s; // h/w start: this block's own, or (video layout) the first image's
    if (asVideo && secondPerGridT === 0) {
      if (!firstImage) firstImage = { s, gh, gw };
      else if (firstImage.gh === gh && firstImage.gw === gw) hw = firstImage.s;
    }
    for (let i = 0; i < gt; i++) {
      const ti = s + Math.trunc(i * secondPerGridT * tps); // torch .long() truncates toward zero
      for (let j = 0; j < gh; j++) {
        for (let k = 0; k < gw; k++) {
          t.push(ti), h.push(hw + j), w.push(hw + k);
          maxId = Math.max(maxId, ti, hw + j, hw + k);
        }
      }
    }
    st = ed + gt * gh * gw;
  }
  if (st < ids.length) pushText(ids.length - st);
  const out: [Int32Array, Int32Array, Int32Array] = [
    new Int32Array(n).fill(1),
    new Int32Array(n).fill(1),
    new Int32Array(n).fill(1),
  ];
  keep.forEach((pos, k) => {
    out[0][pos] = t[k];
    out[1][pos] = h[k];
    out[2][pos] = w[k];
  });
  return { positionIds: out, ropeDelta: maxId + 1 - n };
}

function indexFrom(ids: number[], token: number, from: number): number {
  const i = ids.indexOf(token, from);
  return i < 0 ? ids.length + 1 : i;
}

/** Position ids (3, T) for `count` decode tokens starting at cache position `start`: p + ropeDelta in all three. */
export function decodePositionIds(
  start: number,
  count: number,
  ropeDelta: number,
): [Int32Array, Int32Array, Int32Array] {
  const p = new Int32Array(count);
  for (let i = 0; i < count; i++) p[i] = start + i + ropeDelta;
  return [p, p.slice(), p.slice()];
}
