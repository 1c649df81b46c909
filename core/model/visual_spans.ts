/**
 * Where the visual tokens sit in a prompt: contiguous runs of <|image_pad|> / <|video_pad|> tokens, matched to the
 * images and videos in prompt order, with each run's merged grid (App. C's [T_s, T_e) and per-frame patch grid).
 * Shared by the f64 reference and the GPU forward.
 */
import { ShapeMismatchError } from "../errors.ts";
import type { VlmConfig } from "./config.ts";
import type { VisionGrid } from "./rope_index.ts";
import { concatFloats } from "../io/concat.ts";

/** One image's or video's run of pad tokens in a prompt. */
export interface VisualSpan {
  /** Which kind of input the run stands for. */
  kind: "image" | "video";
  /** [start, end) token positions of the pad tokens. */
  start: number;
  /** End (exclusive) of the run. */
  end: number;
  /** Merged grid per frame: (t, h/M, w/M); frame f's tokens are rows f·(h/M)·(w/M) ... of the span. */
  frameGrid: [number, number, number];
}

/** Contiguous runs of image/video pad tokens, matched to the inputs in prompt order. */
export function visualSpans(
  c: VlmConfig,
  ids: ArrayLike<number>,
  images: VisionGrid[],
  videos: VisionGrid[],
): VisualSpan[] {
  const M = c.vision_config.spatial_merge_size;
  const spans: VisualSpan[] = [];
  let ii = 0, vi = 0;
  for (let t = 0; t < ids.length;) {
    const kind = ids[t] === c.image_token_id ? "image" : ids[t] === c.video_token_id ? "video" : null;
    if (!kind) {
      t++;
      continue;
    }
    const item = kind === "image" ? images[ii++] : videos[vi++];
    if (!item) throw new ShapeMismatchError("visualSpans", `more ${kind} spans in the prompt than ${kind}s given`);
    const [gt, gh, gw] = [item.gridThw[0], item.gridThw[1] / M, item.gridThw[2] / M];
    const n = gt * gh * gw;
    spans.push({ kind, start: t, end: t + n, frameGrid: [gt, gh, gw] });
    t += n;
  }
  return spans;
}

/** Token positions of every visual token, span after span. */
export function visualPositionsOf(spans: VisualSpan[]): Int32Array {
  return Int32Array.from(spans.flatMap((s) => Array.from({ length: s.end - s.start }, (_, k) => s.start + k)));
}

/** Concatenate the pixel_values of several images or videos (the vision tower runs them as one batch of patches). */
export function concatPixelValues(items: readonly { pixelValues: Float32Array }[]): Float32Array {
  return concatFloats(items.map((i) => i.pixelValues));
}
