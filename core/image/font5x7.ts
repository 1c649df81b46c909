/**
 * A 5 × 7 bitmap font for text stamped into images: the instruction data's drawn labels (core/instruct/label.ts) and
 * the synthetic benchmarks' point letters (eval/benchmarks/synthetic/draw.ts). Glyph cells are 6 pixels wide (one
 * blank column between characters).
 */

/** 5 × 7 glyphs, one string of five '0'/'1' per row, top to bottom. */
const GLYPHS: Record<string, string[]> = {
  A: ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
  B: ["11110", "10001", "10001", "11110", "10001", "10001", "11110"],
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

/**
 * Calls `visit(px, py)` for every inked pixel of `text` at `scale` font pixels per glyph pixel, (0, 0) being the
 * top-left of the first glyph. A character the font lacks raises RangeError naming `who`.
 */
export function forEachTextPixel(
  who: string,
  text: string,
  scale: number,
  visit: (px: number, py: number) => void,
): void {
  for (const [k, ch] of [...text].entries()) {
    const g = GLYPHS[ch];
    if (!g) throw new RangeError(`${who}: no glyph for ${JSON.stringify(ch)}`);
    for (let gy = 0; gy < 7; gy++) {
      for (let gx = 0; gx < 5; gx++) {
        if (g[gy][gx] !== "1") continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) visit((k * 6 + gx) * scale + sx, gy * scale + sy);
        }
      }
    }
  }
}

/** The character whose glyph is `rows` (seven strings of five '0'/'1'), or undefined. */
export function glyphOf(rows: readonly string[]): string | undefined {
  return Object.entries(GLYPHS).find(([, g]) => g.join() === rows.join())?.[0];
}
