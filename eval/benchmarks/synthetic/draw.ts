/**
 * Marks drawn on synthetic benchmark images: circles with letter labels (BLINK-style correspondence points) and box
 * outlines (CV-Bench-style highlighted objects), letters in the 5 × 7 font of core/image/font5x7.ts.
 */
import { forEachTextPixel } from "../../../core/image/font5x7.ts";
import type { RgbImage } from "../images.ts";

export type Rgb = [number, number, number];

function setPx(img: RgbImage, x: number, y: number, c: Rgb): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  img.rgb.set(c, (y * img.width + x) * 3);
}

/** A ring of radius r (thickness t) centred at (cx, cy) in pixel coordinates. */
export function drawCircle(img: RgbImage, cx: number, cy: number, r: number, c: Rgb, t = 2): void {
  for (let y = Math.floor(cy - r - t); y <= Math.ceil(cy + r + t); y++) {
    for (let x = Math.floor(cx - r - t); x <= Math.ceil(cx + r + t); x++) {
      const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
      if (Math.abs(d - r) <= t / 2) setPx(img, x, y, c);
    }
  }
}

/** Text in the 5 × 7 font, `scale` pixels per font pixel, top-left at (x, y), on a white backing box. */
export function drawText(img: RgbImage, text: string, x: number, y: number, c: Rgb, scale = 2): void {
  const w = text.length * 6 * scale, h = 9 * scale;
  for (let j = -scale; j < h - scale; j++) for (let i = -scale; i < w; i++) setPx(img, x + i, y + j, [255, 255, 255]);
  forEachTextPixel("drawText", text, scale, (px, py) => setPx(img, x + px, y + py, c));
}

/** Rectangle outline over pixels [x0, x1] × [y0, y1] (inclusive), thickness t. */
export function drawBox(img: RgbImage, x0: number, y0: number, x1: number, y1: number, c: Rgb, t = 2): void {
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (x - x0 < t || x1 - x < t || y - y0 < t || y1 - y < t) setPx(img, x, y, c);
    }
  }
}
