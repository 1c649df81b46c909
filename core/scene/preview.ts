/**
 * Contact sheet of one sequence: its frames in a grid, every track drawn in its own colour in each frame where it
 * is visible (a filled dot with a dark rim; the anchor frame's dots are squares), so a person can see at a glance
 * that the same colour sits on the same surface point across frames.
 */
import { encode } from "fast-png";
import { writeFileAtomic } from "../io/atomic.ts";
import type { CorrespondenceSequence } from "./types.ts";

/** Distinct colour for track k (golden-angle hue walk, full saturation). */
export function trackColor(k: number): [number, number, number] {
  const h = (k * 137.508) % 360, s = 0.9, v = 1;
  const c = v * s, x = c * (1 - Math.abs(((h / 60) % 2) - 1)), m = v - c;
  const [r, g, b] = h < 60
    ? [c, x, 0]
    : h < 120
    ? [x, c, 0]
    : h < 180
    ? [0, c, x]
    : h < 240
    ? [0, x, c]
    : h < 300
    ? [x, 0, c]
    : [c, 0, x];
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

/** Render the contact sheet as RGB pixels. `columns` frames per row (default 4), 4-px gaps. */
export function contactSheet(
  seq: CorrespondenceSequence,
  columns = 4,
): { width: number; height: number; rgb: Uint8Array } {
  const F = seq.frames.length, W = seq.frames[0].width, H = seq.frames[0].height, gap = 4;
  const cols = Math.min(columns, F), rows = Math.ceil(F / cols);
  const width = cols * W + (cols - 1) * gap, height = rows * H + (rows - 1) * gap;
  const rgb = new Uint8Array(width * height * 3).fill(40);
  const radius = Math.max(2, Math.round(W / 80));
  seq.frames.forEach((f, k) => {
    const x0 = (k % cols) * (W + gap), y0 = Math.floor(k / cols) * (H + gap);
    for (let i = 0; i < H; i++) rgb.set(f.rgb.subarray(i * W * 3, (i + 1) * W * 3), ((y0 + i) * width + x0) * 3);
    seq.tracks.forEach((t, ti) => {
      const p = t.points[k];
      if (!p) return;
      const col = trackColor(ti), square = k === t.anchorFrame;
      for (let dy = -radius - 1; dy <= radius + 1; dy++) {
        for (let dx = -radius - 1; dx <= radius + 1; dx++) {
          const d = square ? Math.max(Math.abs(dx), Math.abs(dy)) : Math.hypot(dx, dy);
          if (d > radius + 1) continue;
          const px = Math.floor(p[0]) + dx, py = Math.floor(p[1]) + dy;
          if (px < 0 || py < 0 || px >= W || py >= H) continue;
          const o = ((y0 + py) * width + x0 + px) * 3;
          const c = d > radius ? [0, 0, 0] : col;
          rgb[o] = c[0], rgb[o + 1] = c[1], rgb[o + 2] = c[2];
        }
      }
    });
  });
  return { width, height, rgb };
}

export async function writePreview(path: string, seq: CorrespondenceSequence, columns = 4): Promise<void> {
  const { width, height, rgb } = contactSheet(seq, columns);
  await writeFileAtomic(path, encode({ width, height, data: rgb, channels: 3, depth: 8 }));
}
