/**
 * The paper's fairness baseline ("sft-fair"): the same correspondence sequences GASP trains on, but posed as text
 * VQA and learnt with the LM loss only, so GASP's gain cannot be explained by seeing more geometric data.
 * Two question forms per (anchor frame, target frame, track):
 *   choice: "Which labeled point in Image-2 corresponds to the marked location in Image-1?"  → "B"
 *   coords: "Predict the [x, y] coordinates of this point in Image-2."                        → "[x, y]"
 * Pixel coordinates follow core/scene/types.ts (origin at the top-left pixel corner), rounded to integers.
 * The marks (which point to draw on which image) come with each record; drawPointMarks renders them so the images
 * show what the text says. Distractors: the annotation's negative for that track and frame (App. A), then other
 * tracks' points in the target frame, then random pixels, all at least one patch away from the true point.
 */
import type { Rng } from "../core/random.ts";
import type { CorrespondenceSequence } from "../core/scene/types.ts";
import type { QaRecord } from "../core/instruct/conversation.ts";

export type FairQaKind = "corr-choice" | "corr-coords";

export interface PointMark {
  /** 0 = Image-1 (the anchor frame), 1 = Image-2 (the target frame). */
  image: 0 | 1;
  /** "*" for the marked location, else the option letter. */
  label: string;
  xy: [number, number];
  rgb: [number, number, number];
}

export interface FairQaRecord extends QaRecord {
  kind: FairQaKind;
  sequenceId: string;
  /** Frame indices (within the sequence) of Image-1 and Image-2. */
  images: [number, number];
  track: number;
  marks: PointMark[];
}

const LABELS = ["A", "B", "C", "D", "E", "F"];
const LABEL_COLORS: [number, number, number][] = [
  [230, 25, 75],
  [60, 180, 75],
  [0, 130, 200],
  [255, 225, 25],
  [145, 30, 180],
  [70, 240, 240],
];
const MARKED_COLOR: [number, number, number] = [255, 255, 255];

export const CHOICE_QUESTION = "Which labeled point in Image-2 corresponds to the marked location in Image-1?";
export const COORDS_QUESTION = "Predict the [x, y] coordinates of this point in Image-2.";

function fmt(p: [number, number]): string {
  return `[${Math.round(p[0])}, ${Math.round(p[1])}]`;
}

export interface FairQaOptions {
  rng: Rng;
  /** Options per choice question, 2..6 (default 4). */
  choices?: number;
  /** Tracks asked about per sequence (default 8); each gives one question of each form. */
  maxTracks?: number;
}

export function fairCorrespondenceQa(seq: CorrespondenceSequence, o: FairQaOptions): FairQaRecord[] {
  const rng = o.rng;
  const choices = Math.min(Math.max(o.choices ?? 4, 2), LABELS.length);
  const F = seq.frames.length;
  const minSep = seq.grid.patchSize;
  const candidates: [number, number][] = []; // (track, target frame)
  seq.tracks.forEach((tr, t) => {
    for (let b = 0; b < F; b++) {
      if (b !== tr.anchorFrame && tr.points[tr.anchorFrame] && tr.points[b]) candidates.push([t, b]);
    }
  });
  rng.shuffle(candidates);
  const out: FairQaRecord[] = [];
  const used = new Set<number>();
  for (const [t, b] of candidates) {
    if (used.size >= (o.maxTracks ?? 8)) break;
    if (used.has(t)) continue;
    used.add(t);
    const tr = seq.tracks[t];
    const a = tr.anchorFrame;
    const pa = tr.points[a]!;
    const pb = tr.points[b]!;
    const frame = seq.frames[b];
    const far = (p: [number, number], others: [number, number][]) =>
      others.every((q) => Math.hypot(p[0] - q[0], p[1] - q[1]) >= minSep);
    const picked: [number, number][] = [pb];
    const pool: [number, number][] = [];
    const neg = seq.negatives[t]?.[b];
    if (neg) pool.push(neg);
    rng.shuffle(seq.tracks.map((x) => x.points[b]).filter((p): p is [number, number] => p !== null)).forEach((p) =>
      pool.push(p)
    );
    for (const p of pool) if (picked.length < choices && far(p, picked)) picked.push(p);
    for (let tries = 0; picked.length < choices && tries < 1000; tries++) {
      const p: [number, number] = [rng.uniform(0, frame.width), rng.uniform(0, frame.height)];
      if (far(p, picked)) picked.push(p);
    }
    const order = rng.shuffle([...picked.keys()]);
    const answerLabel = LABELS[order.indexOf(0)];
    const marked: PointMark = { image: 0, label: "*", xy: pa, rgb: MARKED_COLOR };
    const options: PointMark[] = order.map((k, i) => ({
      image: 1,
      label: LABELS[i],
      xy: picked[k],
      rgb: LABEL_COLORS[i],
    }));
    const prefix = `<image>\n<image>\nThe marked location in Image-1 is at ${fmt(pa)}.`;
    const optionText = options.map((m) => `(${m.label}) ${fmt(m.xy)}`).join(", ");
    const base = { sceneId: seq.sceneId, sequenceId: seq.id, images: [a, b] as [number, number], track: t };
    out.push({
      ...base,
      id: `${seq.id}-t${t}-f${b}-choice`,
      kind: "corr-choice",
      marks: [marked, ...options],
      conversations: [
        { from: "human", value: `${prefix} Labeled points in Image-2: ${optionText}. ${CHOICE_QUESTION}` },
        { from: "gpt", value: answerLabel },
      ],
    });
    out.push({
      ...base,
      id: `${seq.id}-t${t}-f${b}-coords`,
      kind: "corr-coords",
      marks: [marked],
      conversations: [{ from: "human", value: `${prefix} ${COORDS_QUESTION}` }, { from: "gpt", value: fmt(pb) }],
    });
  }
  return out;
}

/** A copy of an (H, W, 3) RGB image with each mark drawn as a filled disc (radius r) in a 1-px black ring. */
export function drawPointMarks(
  rgb: Uint8Array,
  width: number,
  height: number,
  marks: Pick<PointMark, "xy" | "rgb">[],
  r = 3,
): Uint8Array {
  const out = rgb.slice();
  for (const m of marks) {
    const [cx, cy] = m.xy;
    for (let y = Math.floor(cy - r - 1); y <= Math.ceil(cy + r + 1); y++) {
      for (let x = Math.floor(cx - r - 1); x <= Math.ceil(cx + r + 1); x++) {
        if (x < 0 || y < 0 || x >= width || y >= height) continue;
        const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        if (d > r + 1) continue;
        const colour = d <= r ? m.rgb : [0, 0, 0];
        out.set(colour, (y * width + x) * 3);
      }
    }
  }
  return out;
}
