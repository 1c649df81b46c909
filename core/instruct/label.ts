/**
 * Drawn labels for the general instruction data's "read the label" questions: a short code in a 5 × 7 bitmap font,
 * black on a white box, stamped into an RGB image. Codes avoid look-alike characters (0/O, 1/I, 5/S, 8/B, 2/Z) so
 * that a small font stays readable at 224² and the options are never ambiguous.
 */
import type { RgbImage } from "../image/types.ts";
import type { Rng } from "../random.ts";

/** Characters a label code is made of. */
export const LABEL_CHARS = "ACDEFGHJKLMNPRTUVWXY34679";

/** 5 × 7 glyphs, one string of five '0'/'1' per row, top to bottom. */
const GLYPHS: Record<string, string[]> = {
  A: ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
  C: ["01111", "10000", "10000", "10000", "10000", "10000", "01111"],
  D: ["11110", "10001", "10001", "10001", "10001", "10001", "11110"],
  E: ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
  F: ["11111", "10000", "10000", "11110", "10000", "10000", "10000"],
  G: ["01111", "10000", "10000", "10011", "10001", "10001", "01111"],
  H: ["10001", "10001", "10001", "11111", "10001", "10001", "10001"],
  J: ["00111", "00010", "00010", "00010", "10010", "10010", "01100"],
  K: ["10001", "10010", "10100", "11000", "10100", "10010", "10001"],
  L: ["10000", "10000", "10000", "10000", "10000", "10000", "11111"],
  M: ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
  N: ["10001", "11001", "10101", "10011", "10001", "10001", "10001"],
  P: ["11110", "10001", "10001", "11110", "10000", "10000", "10000"],
  R: ["11110", "10001", "10001", "11110", "10100", "10010", "10001"],
  T: ["11111", "00100", "00100", "00100", "00100", "00100", "00100"],
  U: ["10001", "10001", "10001", "10001", "10001", "10001", "01110"],
  V: ["10001", "10001", "10001", "10001", "10001", "01010", "00100"],
  W: ["10001", "10001", "10001", "10101", "10101", "10101", "01010"],
  X: ["10001", "10001", "01010", "00100", "01010", "10001", "10001"],
  Y: ["10001", "10001", "01010", "00100", "00100", "00100", "00100"],
  "3": ["11110", "00001", "00001", "01110", "00001", "00001", "11110"],
  "4": ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
  "6": ["01110", "10000", "10000", "11110", "10001", "10001", "01110"],
  "7": ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
  "9": ["01110", "10001", "10001", "01111", "00001", "00001", "01110"],
};

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
  for (const [k, ch] of [...text].entries()) {
    const g = GLYPHS[ch];
    if (!g) throw new RangeError(`drawLabel: no glyph for ${JSON.stringify(ch)}`);
    for (let gy = 0; gy < 7; gy++) {
      for (let gx = 0; gx < 5; gx++) {
        if (g[gy][gx] !== "1") continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) set(x + (1 + k * 6 + gx) * scale + sx, y + (1 + gy) * scale + sy, 0);
        }
      }
    }
  }
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
    s += Object.entries(GLYPHS).find(([, g]) => g.join() === rows.join())?.[0] ?? "?";
  }
  return s;
}
