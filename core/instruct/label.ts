/**
 * Drawn labels for the general instruction data's "read the label" questions: a short code in a 5 × 7 bitmap font,
 * black on a white box, stamped into an RGB image. Codes avoid look-alike characters (0/O, 1/I, 5/S, 8/B, 2/Z) so
 * that a small font stays readable at 224² and the options are never ambiguous.
 */
import { forEachTextPixel, glyphOf } from "../image/font5x7.ts";
import type { RgbImage } from "../image/types.ts";
import type { Rng } from "../random.ts";

/** Characters a label code is made of. */
export const LABEL_CHARS = "ACDEFGHJKLMNPRTUVWXY34679";

/** Characters per label code. */
export const LABEL_LENGTH = 2;

/** A random code of LABEL_LENGTH characters from LABEL_CHARS. */
export function randomLabelCode(rng: Rng): string {
  let s = "";
  for (let i = 0; i < LABEL_LENGTH; i++) s += LABEL_CHARS[rng.int(LABEL_CHARS.length)];
  return s;
}

/** Font pixels per glyph pixel for an image: 2 at 224 px wide, scaled with the width (at least 1). */
export function labelScale(width: number): number {
  return Math.max(1, Math.round((2 * width) / 224));
}

/** Size in pixels of the white box of `text` at `scale`: one glyph pixel of margin around 6-pixel-wide cells. */
export function labelBoxSize(text: string, scale: number): { width: number; height: number } {
  return { width: (text.length * 6 + 1) * scale, height: 9 * scale };
}

/**
 * Draws `text` (characters of LABEL_CHARS) black on a white box whose top-left corner is (x, y); returns a new image
 * (the input is not changed). The box must fit inside the image.
 */
export function drawLabel(img: RgbImage, text: string, x: number, y: number, scale: number): RgbImage {
  const { width: w, height: h } = labelBoxSize(text, scale);
  if (x < 0 || y < 0 || x + w > img.width || y + h > img.height) {
    throw new RangeError(`drawLabel: a ${w}×${h} box at (${x}, ${y}) does not fit a ${img.width}×${img.height} image`);
  }
  const out = { width: img.width, height: img.height, data: img.data.slice() };
  const set = (px: number, py: number, v: number) =>
    out.data.fill(v, (py * img.width + px) * 3, (py * img.width + px) * 3 + 3);
  for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) set(x + i, y + j, 255);
  // The text starts one glyph pixel inside the box.
  forEachTextPixel("drawLabel", text, scale, (px, py) => set(x + scale + px, y + scale + py, 0));
  return out;
}

/** Reads a label back from the pixels of a box drawn by drawLabel at (x, y) (tests and self-checks). */
export function readLabel(img: RgbImage, x: number, y: number, length: number, scale: number): string {
  let s = "";
  for (let k = 0; k < length; k++) {
    const rows: string[] = [];
    for (let gy = 0; gy < 7; gy++) {
      let r = "";
      for (let gx = 0; gx < 5; gx++) {
        const px = x + (1 + k * 6 + gx) * scale, py = y + (1 + gy) * scale;
        r += img.data[(py * img.width + px) * 3] < 128 ? "1" : "0";
      }
      rows.push(r);
    }
    s += glyphOf(rows) ?? "?";
  }
  return s;
}
