/**
 * VSI-Bench bias probe (paper Table 5 / App. D): ask the same questions with the dataset's own average object sizes
 * and average room size added to the prompt as a text prior, then report the score deltas.
 *
 * App. D: sizes are "extracted from the VSI-Bench QAs and averaged" (a dictionary such as 'sofa': 181.30 cm,
 * 'bed': 216.06 cm, and an average room size of 20.5 m²), given as e.g. "The average room size is 20.5 square meters.
 * Use this information to guide your estimate." We build the dictionary from the loaded items'
 * `object_size_estimation` ground truths (object name parsed from the question) and `room_size_estimation` ground
 * truths, and append to each question the averages of the objects it mentions (and the room average for questions
 * about the room or distances), followed by that sentence. Questions that mention none are unchanged.
 */
import { mean } from "./metrics.ts";
import type { BenchItem } from "./types.ts";
import { vsiPrompt } from "./vsi_bench.ts";

export interface VsiPriors {
  /** Object name → mean longest dimension (cm). */
  objectSizeCm: Map<string, number>;
  /** Mean room floor area (m²), NaN when the data has no room-size questions. */
  roomSizeM2: number;
}

/** "…of the sofa, measured in centimeters?" → "sofa". */
export function sizeQuestionObject(question: string): string | null {
  const m = /\bof the ([a-z][a-z \-']*?)(?:,|\?| measured| in centimeters)/i.exec(question);
  return m ? m[1].trim().toLowerCase() : null;
}

export function computeVsiPriors(items: readonly BenchItem[]): VsiPriors {
  const sizes = new Map<string, number[]>();
  const rooms: number[] = [];
  for (const it of items) {
    const q = it.meta.question ?? "";
    if (it.category === "object_size_estimation") {
      const name = sizeQuestionObject(q);
      if (name) sizes.set(name, [...(sizes.get(name) ?? []), Number(it.gold)]);
    } else if (it.category === "room_size_estimation") {
      rooms.push(Number(it.gold));
    }
  }
  return {
    objectSizeCm: new Map([...sizes].map(([k, v]) => [k, mean(v)])),
    roomSizeM2: rooms.length ? mean(rooms) : NaN,
  };
}

export function priorText(item: BenchItem, p: VsiPriors): string {
  const q = (item.meta.question ?? "").toLowerCase();
  const parts: string[] = [];
  for (const [name, cm] of [...p.objectSizeCm].sort((a, b) => b[0].length - a[0].length)) {
    if (new RegExp(`\\b${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`).test(q)) {
      parts.push(`The average size of a ${name} is ${cm.toFixed(2)} centimeters.`);
    }
  }
  const roomish = item.category === "room_size_estimation" || item.category === "object_abs_distance";
  if (roomish && Number.isFinite(p.roomSizeM2)) {
    parts.push(`The average room size is ${p.roomSizeM2.toFixed(1)} square meters.`);
  }
  return parts.length ? parts.join(" ") + " Use this information to guide your estimate." : "";
}

/** The probe items: same ids, gold and images; the prior inserted after the question. */
export function withPriors(items: readonly BenchItem[], p: VsiPriors = computeVsiPriors(items)): BenchItem[] {
  return items.map((it) => {
    const prior = priorText(it, p);
    if (!prior) return it;
    const options = it.meta.options ? JSON.parse(it.meta.options) as string[] | null : null;
    return { ...it, prompt: vsiPrompt({ question_type: it.category, question: it.meta.question, options }, prior) };
  });
}
