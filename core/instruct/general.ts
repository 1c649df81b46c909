/**
 * General instruction data, the stand-in for LLaVA-Video-178K (Sec 5.2, App. B): questions about the frames shown
 * whose answers can be read off their pixels, posed in the benchmarks' own prompt wordings (core/prompts) and answered
 * in each harness' format, so a model trained on it answers the benchmarks in format without having been taught any
 * geometry.
 *
 * Formats (images → prompt → answer):
 *   cv-bench    1 image   lmms-eval CV-Bench prompt, "… Select from the following choices.\n(A) …"    "(B)"
 *   blink       2 images  lmms-eval BLINK prompt, "… Select from the following options.\n(A) …"       "(B)"
 *   all-angles  2 images  VLMEvalKit "Question: …\nOptions:\nA. …", 3 options as the real file        "B"
 *   vsi-choice  8 frames  lmms-eval VSI multiple choice, "Options:\nA. …"                             "B"
 *   vsi-number  8 frames  lmms-eval VSI numeric                                                        "3"
 * Multiple choice has 2-4 options (All-Angles 3) in random order with the gold letter uniform over them.
 *
 * Kinds, all non-spatial: the colour of the one object of a shape in an image, the shape of the one object of a
 * colour, which colour-and-shape appears in the images (the others appear in none), how many objects of a shape an
 * image shows, and the code written on a drawn label. No relative depth, distance, direction, size, camera motion or
 * cross-view question: those are what the benchmarks measure (issue 13). An answer depends only on each image's object
 * pixel counts (GeneralView: no positions, depths or poses) and the label drawn, so it needs no geometry; the tests
 * check that permuting every image's pixels leaves every item unchanged.
 *
 * Visibility: an object counts as seen in an image with ≥ 30 pixels at 224² (scaled with the area, as the synthetic
 * benchmarks); a question is not asked when an object it depends on is only partly there (1 … 29 pixels), nor about
 * boxes when a corner cabinet (a box-shaped, multi-coloured object) is in view.
 */
import type { RgbImage } from "../image/types.ts";
import { allAnglesPrompt, allAnglesQuestion } from "../prompts/all_angles.ts";
import { LETTERS, lettersFor } from "../prompts/letters.ts";
import {
  BLINK_OPTIONS_LINE,
  blinkPrompt,
  CV_BENCH_CHOICES_LINE,
  cvBenchPrompt,
  lmmsRowPrompt,
  parenthesizedLetter,
} from "../prompts/lmms_mc.ts";
import { vsiMultipleChoicePrompt, vsiNumericPrompt, vsiOptions } from "../prompts/vsi.ts";
import type { Rng } from "../random.ts";
import { PALETTE } from "../scene/texture.ts";
import type { CorrespondenceSequence, Frame, SceneDescription, SceneObject } from "../scene/types.ts";
import { drawLabel, labelBoxSize, labelScale, randomLabelCode } from "./label.ts";

/** Which benchmark's prompt and answer format a general item uses. */
export type GeneralFormat = "cv-bench" | "blink" | "all-angles" | "vsi-choice" | "vsi-number";
export const GENERAL_FORMATS: GeneralFormat[] = ["cv-bench", "blink", "all-angles", "vsi-choice", "vsi-number"];
/** What a general item asks: an object's colour or shape, presence, a count, or a drawn label. */
export type GeneralKind = "color" | "shape" | "presence" | "count" | "label";
export const GENERAL_KINDS: GeneralKind[] = ["color", "shape", "presence", "count", "label"];

/** Images per item of each format: the benchmark's own (VSI: the bench's default 8 frames per video). */
export const FORMAT_IMAGES: Record<GeneralFormat, number> = {
  "cv-bench": 1,
  blink: 2,
  "all-angles": 2,
  "vsi-choice": 8,
  "vsi-number": 8,
};

/**
 * How often each format is drawn. Every suite's format is seen often; 8-frame items cost ~4× the tokens of a 1-image
 * one (~570 vs ~130 on the 8 × 8 grid), so the two VSI formats get a fifth of the items between them. Measured on the
 * default data: a 200-step base (`deno task train --stage base --max-steps 200`) answers all five formats in format
 * (12 of 12 items each, its own training distribution), the numeric VSI one with digits.
 */
export const DEFAULT_FORMAT_WEIGHTS: Record<GeneralFormat, number> = {
  "cv-bench": 0.3,
  blink: 0.25,
  "all-angles": 0.25,
  "vsi-choice": 0.1,
  "vsi-number": 0.1,
};

/** One image as the questions see it: its pixels and how many pixels each object id covers (0 = room). */
export interface GeneralView {
  /** The image. */
  image: RgbImage;
  /** Pixels covered per object id. */
  objectPixels: ReadonlyMap<number, number>;
}

/** One general instruction item (the LLaVA-Video-178K stand-in): images, the harness-worded prompt, the answer. */
export interface GeneralItem {
  /** The benchmark format it is worded in. */
  format: GeneralFormat;
  /** What it asks. */
  kind: GeneralKind;
  /** The images in prompt order (a label drawn where asked). */
  images: RgbImage[];
  /** The text after the images, exactly as the format's harness writes it. */
  prompt: string;
  /** The answer as the harness expects it: "(B)", "B" or digits. */
  answer: string;
  /** The question without the harness wording. */
  question: string;
  /** Option texts in prompt order and the gold's index; null for numeric answers. */
  options: string[] | null;
  /** Index of the gold option; null for numeric answers. */
  gold: number | null;
  /** The image the question is about, or null when it is about all of them (presence). */
  view: number | null;
}

const SHAPES = ["box", "sphere", "cylinder"] as const;
type Shape = (typeof SHAPES)[number];
const COLORS = PALETTE.map((c) => c.name);

/** Pixels an object needs in an image to count as seen: 30 at 224², scaled with the area. */
export function minVisiblePixels(image: { width: number; height: number }): number {
  return Math.max(4, Math.round((30 * image.width * image.height) / (224 * 224)));
}

/** Pixel count of every object id in an (H, W) id map. */
export function objectPixelCounts(objectId: Uint16Array): Map<number, number> {
  const m = new Map<number, number>();
  for (const id of objectId) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

/** Replaces a frame's per-pixel object ids by their counts (all the general questions read), to save memory. */
export function compactObjectIds(f: Frame): void {
  if (f.objectId) f.objectPixels = objectPixelCounts(f.objectId);
  f.objectId = undefined;
}

/** Pixels per object id of a frame (from its counts or its id map); null when it has neither. */
function framePixels(f: Frame): ReadonlyMap<number, number> | null {
  return f.objectPixels ?? (f.objectId ? objectPixelCounts(f.objectId) : null);
}

/** Objects the questions name: coloured boxes, spheres and cylinders (not tables, posters or cabinets). */
function isOrdinary(o: SceneObject): o is SceneObject & { shape: Shape } {
  return (SHAPES as readonly string[]).includes(o.shape) && COLORS.includes(o.color) && o.name !== "cabinet";
}

const plural = (s: string) => (s === "box" ? "boxes" : `${s}s`);

/** What one view shows, by pixel counts only. */
class ViewFacts {
  readonly min: number;
  constructor(readonly view: GeneralView, readonly objects: readonly SceneObject[]) {
    this.min = minVisiblePixels(view.image);
  }
  px(o: SceneObject): number {
    return this.view.objectPixels.get(o.id) ?? 0;
  }
  seen(o: SceneObject): boolean {
    return this.px(o) >= this.min;
  }
  partial(o: SceneObject): boolean {
    const p = this.px(o);
    return p > 0 && p < this.min;
  }
  /** Whether a cabinet (box-shaped) is in view at all, which makes "box" ambiguous. */
  cabinet(): boolean {
    return this.objects.some((o) => o.name === "cabinet" && this.px(o) > 0);
  }
  /** Ordinary objects of `shape`, or null when one is only partly in view (or a cabinet shows for boxes). */
  ofShape(shape: Shape): SceneObject[] | null {
    const all = this.objects.filter((o) => isOrdinary(o) && o.shape === shape);
    if (all.some((o) => this.partial(o)) || (shape === "box" && this.cabinet())) return null;
    return all.filter((o) => this.seen(o));
  }
}

interface Question {
  kind: GeneralKind;
  question: string;
  /** Multiple choice: candidate wrong options (deduplicated, gold excluded) and the gold. */
  gold: string;
  distractors: string[];
  /** Numeric gold for vsi-number (count questions). */
  number?: number;
  view: number | null;
  /** Replacement image for `view` (label questions draw one). */
  image?: RgbImage;
}

/** How the prompt names image `v` of `n`. */
function imageRef(v: number, n: number): string {
  if (n === 1) return "the image";
  if (n === 2) return v === 0 ? "the first image" : "the second image";
  return `frame ${v + 1}`;
}

function colorQuestion(facts: ViewFacts[], v: number, rng: Rng): Question | null {
  const f = facts[v];
  for (const shape of rng.shuffle([...SHAPES])) {
    const seen = f.ofShape(shape);
    if (!seen || seen.length !== 1) continue;
    const gold = seen[0].color;
    return {
      kind: "color",
      question: `What color is the ${shape} in ${imageRef(v, facts.length)}?`,
      gold,
      distractors: COLORS.filter((c) => c !== gold),
      view: v,
    };
  }
  return null;
}

function shapeQuestion(facts: ViewFacts[], v: number, rng: Rng): Question | null {
  const f = facts[v];
  for (const color of rng.shuffle([...COLORS])) {
    const shown = f.objects.filter((o) => o.color === color && f.px(o) > 0);
    if (shown.length !== 1 || !isOrdinary(shown[0]) || !f.seen(shown[0])) continue;
    if (shown[0].shape === "box" && f.cabinet()) continue;
    const gold = shown[0].shape;
    return {
      kind: "shape",
      question: `What shape is the ${color} object in ${imageRef(v, facts.length)}?`,
      gold,
      distractors: SHAPES.filter((s) => s !== gold),
      view: v,
    };
  }
  return null;
}

function presenceQuestion(facts: ViewFacts[], rng: Rng): Question | null {
  const combos = COLORS.flatMap((c) => SHAPES.map((s) => [c, s] as const));
  const objectsOf = (c: string, s: string) =>
    facts[0].objects.filter((o) => isOrdinary(o) && o.color === c && o.shape === s);
  const boxesAmbiguous = facts.some((f) => f.cabinet());
  const present = combos.filter(([c, s]) => objectsOf(c, s).some((o) => facts.some((f) => f.seen(o))));
  const absent = combos.filter(([c, s]) =>
    !(s === "box" && boxesAmbiguous) && objectsOf(c, s).every((o) => facts.every((f) => f.px(o) === 0))
  );
  const gold = present.filter(([, s]) => !(s === "box" && boxesAmbiguous));
  if (gold.length === 0 || absent.length === 0) return null;
  const [c, s] = gold[rng.int(gold.length)];
  const n = facts.length;
  const where = n === 1 ? "in the image" : n === 2 ? "in at least one of the two images" : "in the video";
  return {
    kind: "presence",
    question: `Which of these objects can be seen ${where}?`,
    gold: `${c} ${s}`,
    distractors: absent.map(([ac, as]) => `${ac} ${as}`),
    view: null,
  };
}

function countQuestion(facts: ViewFacts[], v: number, rng: Rng, vsi: boolean): Question | null {
  const f = facts[v];
  for (const shape of rng.shuffle([...SHAPES])) {
    const seen = f.ofShape(shape);
    if (!seen || seen.length === 0) continue;
    const n = seen.length;
    // VSI's own wording ("How many chair(s) are in this room?"), elsewhere plain English.
    const noun = vsi ? `${shape}(s)` : plural(shape);
    const distractors = [n - 2, n - 1, n + 1, n + 2, n + 3].filter((x) => x >= 0).map(String);
    return {
      kind: "count",
      question: `How many ${noun} are in ${imageRef(v, facts.length)}?`,
      gold: String(n),
      number: n,
      distractors,
      view: v,
    };
  }
  return null;
}

function labelQuestion(facts: ViewFacts[], v: number, rng: Rng): Question {
  const img = facts[v].view.image;
  const gold = randomLabelCode(rng);
  const scale = labelScale(img.width);
  const box = labelBoxSize(gold, scale);
  const x = rng.int(Math.max(1, img.width - box.width + 1)), y = rng.int(Math.max(1, img.height - box.height + 1));
  const distractors = new Set<string>();
  while (distractors.size < 3) {
    const d = randomLabelCode(rng);
    if (d !== gold) distractors.add(d);
  }
  return {
    kind: "label",
    question: `What is written on the white label in ${imageRef(v, facts.length)}?`,
    gold,
    distractors: [...distractors],
    view: v,
    image: drawLabel(img, gold, x, y, scale),
  };
}

/** Option count of a format: All-Angles has A/B/C; the others 2-4. */
function optionCount(format: GeneralFormat, rng: Rng): number {
  return format === "all-angles" ? 3 : 2 + rng.int(3);
}

/**
 * One item of `format` about `views` (1, 2 or 8 of them, in prompt order) of `scene`; null when none of the kinds
 * can be asked unambiguously. Kinds are tried in random order.
 */
export function generalItem(
  scene: SceneDescription,
  views: GeneralView[],
  format: GeneralFormat,
  rng: Rng,
): GeneralItem | null {
  if (views.length === 0) return null;
  const facts = views.map((v) => new ViewFacts(v, scene.objects));
  const vsiNumber = format === "vsi-number";
  const kinds = vsiNumber ? ["count" as const] : rng.shuffle([...GENERAL_KINDS]);
  for (const kind of kinds) {
    const v = rng.int(views.length);
    const q = kind === "color"
      ? colorQuestion(facts, v, rng)
      : kind === "shape"
      ? shapeQuestion(facts, v, rng)
      : kind === "presence"
      ? presenceQuestion(facts, rng)
      : kind === "count"
      ? countQuestion(facts, v, rng, format.startsWith("vsi"))
      : labelQuestion(facts, v, rng);
    if (!q) continue;
    const images = views.map((x, i) => (i === q.view && q.image ? q.image : x.image));
    if (vsiNumber) {
      return {
        format,
        kind,
        images,
        prompt: vsiNumericPrompt(q.question),
        answer: String(q.number),
        question: q.question,
        options: null,
        gold: null,
        view: q.view,
      };
    }
    const k = Math.min(optionCount(format, rng), q.distractors.length + 1);
    if (format === "all-angles" && k < 3) continue;
    const gold = rng.int(k);
    const wrong = rng.shuffle([...q.distractors]).slice(0, k - 1);
    const options = [...wrong.slice(0, gold), q.gold, ...wrong.slice(gold)];
    return {
      format,
      kind,
      images,
      ...formatChoice(format, q.question, options, gold),
      question: q.question,
      options,
      gold,
      view: q.view,
    };
  }
  return null;
}

/** The harness prompt and the gold answer of a multiple-choice item. */
function formatChoice(
  format: GeneralFormat,
  question: string,
  options: string[],
  gold: number,
): { prompt: string; answer: string } {
  switch (format) {
    case "cv-bench":
      return {
        prompt: cvBenchPrompt(options, lmmsRowPrompt(question, CV_BENCH_CHOICES_LINE, options)),
        answer: parenthesizedLetter(gold),
      };
    case "blink":
      return {
        prompt: blinkPrompt(options, lmmsRowPrompt(question, BLINK_OPTIONS_LINE, options)),
        answer: parenthesizedLetter(gold),
      };
    case "all-angles": {
      const choices = lettersFor(options);
      return {
        prompt: allAnglesPrompt({ question: allAnglesQuestion(question, choices), choices }),
        answer: LETTERS[gold],
      };
    }
    default:
      return { prompt: vsiMultipleChoicePrompt(question, vsiOptions(options)), answer: LETTERS[gold] };
  }
}

const NO_SCENE: SceneDescription = { id: "", seed: 0, roomSize: [0, 0, 0], up: [0, 1, 0], objects: [] };

/** Which formats {@linkcode generalInstructionItem} draws. */
export interface GeneralSampleOptions {
  /** Relative frequency of each format (DEFAULT_FORMAT_WEIGHTS). */
  weights?: Partial<Record<GeneralFormat, number>>;
  /** Draw this format only. */
  format?: GeneralFormat;
}

/** A format drawn by weight. */
export function drawFormat(
  rng: Rng,
  weights: Partial<Record<GeneralFormat, number>> = DEFAULT_FORMAT_WEIGHTS,
): GeneralFormat {
  const w = GENERAL_FORMATS.map((f) => Math.max(0, weights[f] ?? 0));
  const total = w.reduce((a, b) => a + b, 0);
  let r = rng.next() * total;
  for (let i = 0; i < w.length; i++) if ((r -= w[i]) < 0 && w[i] > 0) return GENERAL_FORMATS[i];
  return GENERAL_FORMATS[w.findLastIndex((x) => x > 0)];
}

/**
 * A general item about frames of `seq` (its scene description and per-pixel object ids), or null when no question
 * can be asked about the frames drawn. A sequence without them (ingested real data) gets label questions only. VSI items show 8 frames in
 * temporal order (all of them when the sequence has fewer); the others distinct random frames in random order.
 * Only the frames' pixels and object-id maps (or their counts, Frame.objectPixels) are read: never depth, intrinsics
 * or pose.
 */
export function generalInstructionItem(
  seq: CorrespondenceSequence,
  rng: Rng,
  o: GeneralSampleOptions = {},
): (GeneralItem & { frames: number[] }) | null {
  const format = o.format ?? drawFormat(rng, o.weights);
  const F = seq.frames.length;
  const order = rng.shuffle([...Array(F).keys()]);
  let frames = order.slice(0, Math.min(F, FORMAT_IMAGES[format]));
  if (format.startsWith("vsi")) frames = frames.sort((a, b) => a - b);
  const pixels = frames.map((i) => framePixels(seq.frames[i]));
  const views = frames.map((i, k) => {
    const f = seq.frames[i];
    return { image: { width: f.width, height: f.height, data: f.rgb }, objectPixels: pixels[k] ?? new Map() };
  });
  // Without object ids (ingested real data) or a scene description no object question can be checked: only labels.
  const known = seq.scene && pixels.every((p) => p !== null) ? seq.scene : { ...NO_SCENE, id: seq.sceneId };
  const item = generalItem(known, views, format, rng);
  return item && { ...item, frames };
}
