/**
 * Synthetic general QA about a rendered scene, generated from its SceneDescription with exact answers: the
 * stand-in for LLaVA-Video-178K (Sec 5.2, App. B) that keeps the LM's language while GASP trains.
 * Records use the LLaVA-Video-178K conversation format:
 *   {"id": …, "conversations": [{"from": "human", "value": "<image>\n…"}, {"from": "gpt", "value": "…"}]}
 * plus our own fields (sceneId, kind, frameIndex) that say which frames the <image> stands for and what was asked.
 *
 * Question kinds: counts (all objects, per shape, per colour), the colour of an object whose shape is unique,
 * which of two objects is nearer to the camera (camera-space z of the centres from the frame's pose; only pairs
 * whose depths differ by ≥ NEARER_MARGIN_M and that both project inside the image), and a one-sentence caption.
 * Objects with shape "plane" (floor, walls) are scenery, not objects.
 */
import type { Rng } from "../core/random.ts";
import type { Frame, SceneDescription, SceneObject } from "../core/scene/types.ts";

export type QaKind = "count" | "color" | "nearer" | "caption";

export interface ConversationTurn {
  from: "human" | "gpt";
  value: string;
}

export interface QaRecord {
  id: string;
  sceneId: string;
  kind: string;
  /** Frame (within its sequence) the <image> refers to, when the question depends on a view. */
  frameIndex?: number;
  conversations: [ConversationTurn, ConversationTurn];
}

export interface GeneralQaRecord extends QaRecord {
  kind: QaKind;
}

/** Two objects must differ this much in camera depth (metres) for "which is nearer" to have an unambiguous answer. */
export const NEARER_MARGIN_M = 0.25;

const SCENERY_SHAPES = new Set(["plane"]);
const NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];

/** The answer of a count question: a digit string ("3"), the form exact-match scoring expects. */
export function countAnswer(n: number): string {
  return String(n);
}

export function plural(noun: string, n = 2): string {
  if (n === 1) return noun;
  if (/(s|x|z|ch|sh)$/.test(noun)) return `${noun}es`;
  return `${noun}s`;
}

function article(word: string): string {
  return /^[aeiou]/i.test(word) ? "an" : "a";
}

export function sceneObjects(scene: SceneDescription): SceneObject[] {
  return scene.objects.filter((o) => !SCENERY_SHAPES.has(o.shape)).sort((a, b) => a.id - b.id);
}

function record(
  scene: SceneDescription,
  kind: QaKind,
  n: number,
  question: string,
  answer: string,
  frameIndex?: number,
): GeneralQaRecord {
  const r: GeneralQaRecord = {
    id: `${scene.id}-${kind}-${n}`,
    sceneId: scene.id,
    kind,
    conversations: [{ from: "human", value: `<image>\n${question}` }, { from: "gpt", value: answer }],
  };
  if (frameIndex !== undefined) r.frameIndex = frameIndex;
  return r;
}

/** Camera-space z (OpenCV: forward) of a world point under worldToCamera [R|t]. */
export function cameraDepth(frame: Pick<Frame, "worldToCamera">, p: [number, number, number]): number {
  const r = frame.worldToCamera[2];
  return r[0] * p[0] + r[1] * p[1] + r[2] * p[2] + r[3];
}

function projectsInside(frame: Pick<Frame, "worldToCamera" | "K" | "width" | "height">, p: [number, number, number]) {
  const [r0, r1, r2] = frame.worldToCamera;
  const cam = [r0, r1, r2].map((r) => r[0] * p[0] + r[1] * p[1] + r[2] * p[2] + r[3]);
  if (cam[2] <= 0) return false;
  const K = frame.K;
  const u = (K[0][0] * cam[0] + K[0][1] * cam[1]) / cam[2] + K[0][2];
  const v = (K[1][1] * cam[1]) / cam[2] + K[1][2];
  return u >= 0 && u < frame.width && v >= 0 && v < frame.height;
}

export interface GeneralQaOptions {
  /** The view the questions are about; without it no "nearer" questions are asked. */
  frame?: Pick<Frame, "worldToCamera" | "K" | "width" | "height">;
  frameIndex?: number;
  /** Shuffles the questions and the order of the two objects in "nearer" questions. */
  rng: Rng;
  /** Keep at most this many questions (after shuffling). */
  max?: number;
}

/** All exact QA pairs a scene supports (shuffled, optionally truncated). */
export function generalQa(scene: SceneDescription, o: GeneralQaOptions): GeneralQaRecord[] {
  const objs = sceneObjects(scene);
  const out: GeneralQaRecord[] = [];
  let n = 0;
  const add = (kind: QaKind, q: string, a: string, view = false) =>
    out.push(record(scene, kind, n++, q, a, view ? o.frameIndex : undefined));

  add("count", "How many objects are in the room?", countAnswer(objs.length));
  const shapes = [...new Set(objs.map((x) => x.shape))].sort();
  for (const s of shapes) {
    add("count", `How many ${plural(s)} are there?`, countAnswer(objs.filter((x) => x.shape === s).length));
  }
  for (const c of [...new Set(objs.map((x) => x.color))].sort()) {
    add("count", `How many ${c} objects are there?`, countAnswer(objs.filter((x) => x.color === c).length));
  }
  for (const s of shapes) {
    const same = objs.filter((x) => x.shape === s);
    if (same.length === 1) add("color", `What color is the ${s}?`, same[0].color);
  }
  if (o.frame) {
    const frame = o.frame;
    const names = objs.map((x) => x.name);
    const visible = objs.filter((x) =>
      names.filter((nm) => nm === x.name).length === 1 && projectsInside(frame, x.center)
    );
    for (let i = 0; i < visible.length; i++) {
      for (let j = i + 1; j < visible.length; j++) {
        const [a, b] = o.rng.next() < 0.5 ? [visible[i], visible[j]] : [visible[j], visible[i]];
        const za = cameraDepth(frame, a.center);
        const zb = cameraDepth(frame, b.center);
        if (Math.abs(za - zb) < NEARER_MARGIN_M) continue;
        add(
          "nearer",
          `Which is nearer to the camera, the ${a.name} or the ${b.name}?`,
          za < zb ? a.name : b.name,
          true,
        );
      }
    }
  }
  add("caption", "Describe the scene in one sentence.", caption(objs));
  o.rng.shuffle(out);
  return o.max !== undefined ? out.slice(0, o.max) : out;
}

/** "A room with a red box, a blue sphere and two green cylinders." (objects grouped by name, in id order). */
export function caption(objs: SceneObject[]): string {
  if (objs.length === 0) return "An empty room.";
  const groups = new Map<string, number>();
  for (const x of objs) groups.set(x.name, (groups.get(x.name) ?? 0) + 1);
  const parts = [...groups].map(([name, k]) => {
    if (k === 1) return `${article(name)} ${name}`;
    const words = name.split(" ");
    words[words.length - 1] = plural(words[words.length - 1]);
    return `${NUMBER_WORDS[k] ?? String(k)} ${words.join(" ")}`;
  });
  const list = parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
  return `A room with ${list}.`;
}
