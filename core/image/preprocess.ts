/**
 * Qwen2-VL / Qwen2.5-VL image and video preprocessing (HF Qwen2VLImageProcessor):
 *   1. smart_resize: both sides to multiples of factor = patch·merge = 28, area kept within [min_pixels, max_pixels],
 *   2. bicubic resize (PIL's separable, antialiased BICUBIC on 8-bit, a = -0.5),
 *   3. rescale 1/255 and CLIP mean/std normalisation,
 *   4. patchify into `pixel_values` (num_patches, C·T·P·P) with frames paired temporally (a single image is
 *      repeated to T = 2), rows ordered so each consecutive 4 rows form one 2×2 merge unit.
 * Letters: T frames, C channels (3), P patch size (14), M merge size (2), gt/gh/gw grid in patches.
 */
import type { VlmConfig } from "../model/config.ts";
import { ShapeMismatchError } from "../errors.ts";
import type { RgbImage, RgbVideo } from "./types.ts";

export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/** Patch geometry and pixel budget of Qwen2.5-VL's image processor. */
export interface VisionPreprocessOptions {
  /** Patch side in pixels (14). */
  patchSize: number;
  /** Patches merged per side into one LLM token (2). */
  mergeSize: number;
  /** Frames per temporal patch (2; an image is repeated to fill it). */
  temporalPatchSize: number;
  /** Qwen2.5-VL preprocessor_config.json: min_pixels 3136 (56²), max_pixels 12845056. */
  minPixels: number;
  /** Pixel ceiling after smart resize. */
  maxPixels: number;
}

/** Qwen2.5-VL's defaults (preprocessor_config.json). */
export const QWEN_PREPROCESS: VisionPreprocessOptions = {
  patchSize: 14,
  mergeSize: 2,
  temporalPatchSize: 2,
  minPixels: 3136,
  maxPixels: 12845056,
};

/** Options for a model config (patch geometry from vision_config, pixel limits from Qwen's defaults unless given). */
export function preprocessOptions(
  config: VlmConfig,
  limits: Partial<Pick<VisionPreprocessOptions, "minPixels" | "maxPixels">> = {},
): VisionPreprocessOptions {
  const v = config.vision_config;
  return {
    patchSize: v.patch_size,
    mergeSize: v.spatial_merge_size,
    temporalPatchSize: v.temporal_patch_size,
    minPixels: limits.minPixels ?? QWEN_PREPROCESS.minPixels,
    maxPixels: limits.maxPixels ?? QWEN_PREPROCESS.maxPixels,
  };
}

/** The model's vision input for one image or video. */
export interface PixelValues {
  /** (numPatches, C·T·P·P) row-major, HF `pixel_values` layout. */
  pixelValues: Float32Array;
  /** Rows of pixelValues: grid_t·grid_h·grid_w. */
  numPatches: number;
  /** Columns of pixelValues: C·T·P·P. */
  patchDim: number;
  /** (grid_t, grid_h, grid_w) in patches. */
  gridThw: [number, number, number];
  /** Seconds per temporal grid step (videos: temporal_patch_size / fps); absent for images. */
  secondPerGridT?: number;
}

/** Python's round(): half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Qwen's smart_resize: returns [height, width], multiples of `factor`, area within [minPixels, maxPixels]. */
export function smartResize(
  height: number,
  width: number,
  factor = 28,
  minPixels = QWEN_PREPROCESS.minPixels,
  maxPixels = QWEN_PREPROCESS.maxPixels,
): [number, number] {
  if (Math.max(height, width) / Math.min(height, width) > 200) {
    throw new ShapeMismatchError("smartResize", `aspect ratio of ${width}x${height} exceeds 200`);
  }
  let h = Math.max(factor, roundHalfEven(height / factor) * factor);
  let w = Math.max(factor, roundHalfEven(width / factor) * factor);
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return [h, w];
}

function bicubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** PIL precompute_coeffs for one axis: per output index, the first input index and normalised weights. */
function resampleCoeffs(inSize: number, outSize: number): { start: number; w: number[] }[] {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const out: { start: number; w: number[] }[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    const w: number[] = [];
    let sum = 0;
    for (let x = xmin; x < xmax; x++) {
      const v = bicubic((x - center + 0.5) / filterScale);
      w.push(v);
      sum += v;
    }
    out.push({ start: xmin, w: w.map((v) => (sum !== 0 ? v / sum : 0)) });
  }
  return out;
}

const clip8 = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.floor(v + 0.5));

/** Bicubic resize of an 8-bit RGB image (horizontal pass then vertical, each rounded to 8 bits, as PIL does). */
export function resizeBicubic(img: RgbImage, width: number, height: number): RgbImage {
  if (img.width === width && img.height === height) return img;
  const cx = resampleCoeffs(img.width, width);
  const tmp = new Uint8Array(img.height * width * 3);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < width; x++) {
      const { start, w } = cx[x];
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let k = 0; k < w.length; k++) s += w[k] * img.data[(y * img.width + start + k) * 3 + c];
        tmp[(y * width + x) * 3 + c] = clip8(s);
      }
    }
  }
  const cy = resampleCoeffs(img.height, height);
  const out = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    const { start, w } = cy[y];
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let k = 0; k < w.length; k++) s += w[k] * tmp[((start + k) * width + x) * 3 + c];
        out[(y * width + x) * 3 + c] = clip8(s);
      }
    }
  }
  return { width, height, data: out };
}

/**
 * Patchify equally sized frames (already resized to multiples of P·M) into HF pixel_values. Frames are normalised
 * with CLIP mean/std; the last frame is repeated until T is a multiple of temporal_patch_size.
 */
export function patchifyFrames(frames: RgbImage[], opts: VisionPreprocessOptions): PixelValues {
  const { patchSize: P, mergeSize: M, temporalPatchSize: TP } = opts;
  const { width: W, height: H } = frames[0];
  if (H % (P * M) !== 0 || W % (P * M) !== 0 || frames.some((f) => f.width !== W || f.height !== H)) {
    throw new ShapeMismatchError("patchifyFrames", `frames must share a size that is a multiple of ${P * M}`);
  }
  const padded = [...frames];
  while (padded.length % TP !== 0) padded.push(padded[padded.length - 1]);
  const gt = padded.length / TP, gh = H / P, gw = W / P;
  const patchDim = 3 * TP * P * P;
  const numPatches = gt * gh * gw;
  const out = new Float32Array(numPatches * patchDim);
  let row = 0;
  // Row order (gt, gh/M, gw/M, M, M); column order (C, TP, P, P) - HF's transpose(0, 3, 6, 4, 7, 2, 1, 5, 8).
  for (let t = 0; t < gt; t++) {
    for (let bh = 0; bh < gh / M; bh++) {
      for (let bw = 0; bw < gw / M; bw++) {
        for (let mh = 0; mh < M; mh++) {
          for (let mw = 0; mw < M; mw++, row++) {
            const y0 = (bh * M + mh) * P, x0 = (bw * M + mw) * P;
            let col = row * patchDim;
            for (let c = 0; c < 3; c++) {
              for (let tp = 0; tp < TP; tp++) {
                const f = padded[t * TP + tp].data;
                for (let py = 0; py < P; py++) {
                  for (let px = 0; px < P; px++) {
                    const v = f[((y0 + py) * W + x0 + px) * 3 + c] / 255;
                    out[col++] = (v - CLIP_MEAN[c]) / CLIP_STD[c];
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  return { pixelValues: out, numPatches, patchDim, gridThw: [gt, gh, gw] };
}

/** One image: smart_resize, bicubic, normalise, patchify (duplicated to T = 2). */
export function preprocessImage(img: RgbImage, opts: VisionPreprocessOptions = QWEN_PREPROCESS): PixelValues {
  const [h, w] = smartResize(img.height, img.width, opts.patchSize * opts.mergeSize, opts.minPixels, opts.maxPixels);
  return patchifyFrames([resizeBicubic(img, w, h)], opts);
}

/** A video: every frame resized to the first frame's smart_resize size; frames paired in time. */
export function preprocessVideo(video: RgbVideo, opts: VisionPreprocessOptions = QWEN_PREPROCESS): PixelValues {
  const f0 = video.frames[0];
  const [h, w] = smartResize(f0.height, f0.width, opts.patchSize * opts.mergeSize, opts.minPixels, opts.maxPixels);
  const pv = patchifyFrames(video.frames.map((f) => resizeBicubic(f, w, h)), opts);
  return { ...pv, secondPerGridT: opts.temporalPatchSize / video.fps };
}
