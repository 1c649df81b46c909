import assert from "node:assert/strict";
import { encode as encodePng } from "fast-png";
import jpeg from "jpeg-js";
import {
  CLIP_MEAN,
  CLIP_STD,
  patchifyFrames,
  preprocessImage,
  preprocessVideo,
  QWEN_PREPROCESS,
  resizeBicubic,
  smartResize,
} from "../../../core/image/preprocess.ts";
import { decodeImage } from "../../../core/image/decode.ts";
import type { RgbImage } from "../../../core/image/types.ts";

function rampImage(w: number, h: number, seed = 0): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    data[i * 3] = (i * 7 + seed) % 256;
    data[i * 3 + 1] = (i * 13 + 3 * seed) % 256;
    data[i * 3 + 2] = ((i % w) * 5 + seed) % 256;
  }
  return { width: w, height: h, data };
}

Deno.test("smartResize rounds to multiples of 28 half-to-even like Python, and honours min/max pixels", () => {
  assert.deepEqual(smartResize(480, 640), [476, 644]);
  assert.deepEqual(smartResize(70, 70, 28, 0), [56, 56]); // 70/28 = 2.5 -> round() = 2 in Python
  assert.deepEqual(smartResize(98, 98, 28, 0), [112, 112]); // 3.5 -> 4
  assert.deepEqual(smartResize(20, 20), [56, 56]); // min_pixels 3136 = 56²
  const [h, w] = smartResize(3000, 4000, 28, 3136, 28 * 28 * 256);
  assert.ok(h * w <= 28 * 28 * 256 && h % 28 === 0 && w % 28 === 0);
  assert.deepEqual([h, w], [364, 504]); // beta = sqrt(12e6 / 200704) = 7.73; floor(388 / 28) = 13, floor(517 / 28) = 18
  assert.throws(() => smartResize(10, 3000));
});

Deno.test("bicubic resize keeps a constant image constant and a 2x downscale of 2x2 blocks exact", () => {
  const c: RgbImage = { width: 30, height: 20, data: new Uint8Array(30 * 20 * 3).fill(77) };
  assert.ok(resizeBicubic(c, 56, 28).data.every((v) => v === 77));
  // 2x2 blocks of distinct values far apart: downscale by 2 with antialiasing blends neighbours symmetrically.
  const img = rampImage(28, 28);
  const small = resizeBicubic(img, 14, 14);
  assert.equal(small.width, 14);
  let maxDiff = 0;
  for (let y = 0; y < 14; y++) {
    for (let x = 0; x < 14; x++) {
      const a = img.data[((2 * y) * 28 + 2 * x) * 3 + 2], b = img.data[((2 * y) * 28 + 2 * x + 1) * 3 + 2];
      if (x > 1 && x < 12) maxDiff = Math.max(maxDiff, Math.abs(small.data[(y * 14 + x) * 3 + 2] - (a + b) / 2));
    }
  }
  assert.ok(maxDiff <= 1, `blue channel is a linear ramp in x: interior error ${maxDiff}`);
});

Deno.test("patchify matches HF pixel_values layout: merge-unit row order, (C, T, P, P) columns", () => {
  const f0 = rampImage(56, 84, 1), f1 = rampImage(56, 84, 2), f2 = rampImage(56, 84, 3);
  const pv = patchifyFrames([f0, f1, f2], QWEN_PREPROCESS); // 3 frames -> last repeated -> T = 4, gt = 2
  const P = 14, M = 2, gh = 6, gw = 4;
  assert.deepEqual(pv.gridThw, [2, gh, gw]);
  assert.equal(pv.patchDim, 3 * 2 * 14 * 14);
  const frames = [f0, f1, f2, f2];
  for (const [t, y, x, c, tp, py, px] of [[0, 0, 0, 0, 0, 0, 0], [1, 5, 3, 2, 1, 13, 7], [0, 3, 2, 1, 1, 4, 9]]) {
    const row = t * gh * gw + (Math.floor(y / M) * (gw / M) + Math.floor(x / M)) * M * M + (y % M) * M + (x % M);
    const col = ((c * 2 + tp) * P + py) * P + px;
    const raw = frames[t * 2 + tp].data[((y * P + py) * 56 + x * P + px) * 3 + c];
    const expected = (raw / 255 - CLIP_MEAN[c]) / CLIP_STD[c];
    assert.ok(Math.abs(pv.pixelValues[row * pv.patchDim + col] - expected) < 1e-6);
  }
});

Deno.test("an image is duplicated to two temporal frames; a video carries seconds per grid step", () => {
  const pv = preprocessImage(rampImage(224, 224));
  assert.deepEqual(pv.gridThw, [1, 16, 16]);
  const half = 14 * 14;
  for (let c = 0; c < 3; c++) {
    for (let k = 0; k < half; k++) {
      assert.equal(
        pv.pixelValues[5 * pv.patchDim + c * 2 * half + k],
        pv.pixelValues[5 * pv.patchDim + (c * 2 + 1) * half + k],
      );
    }
  }
  const vid = preprocessVideo({ frames: [rampImage(100, 60), rampImage(100, 60, 5)], fps: 2 });
  assert.deepEqual(vid.gridThw, [1, 4, 8]); // smart_resize(60, 100) = (56, 112)
  assert.equal(vid.secondPerGridT, 1);
});

Deno.test("PNG and JPEG bytes decode to RGB", () => {
  const img = rampImage(16, 8);
  const png = encodePng({ width: 16, height: 8, data: img.data, channels: 3, depth: 8 });
  assert.deepEqual(decodeImage(png).data, img.data);
  const rgba = new Uint8Array(16 * 8 * 4).fill(200);
  const jpg = jpeg.encode({ width: 16, height: 8, data: rgba }, 95).data;
  const d = decodeImage(new Uint8Array(jpg));
  assert.equal(d.width, 16);
  assert.ok(d.data.every((v) => Math.abs(v - 200) <= 2));
  assert.throws(() => decodeImage(new Uint8Array([1, 2, 3, 4, 5])));
});
