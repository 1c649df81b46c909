import assert from "node:assert/strict";
import {
  DEFAULT_FORMAT_WEIGHTS,
  FORMAT_IMAGES,
  GENERAL_FORMATS,
  GENERAL_KINDS,
  generalInstructionItem,
  type GeneralItem,
  generalItem,
  type GeneralView,
  minVisiblePixels,
} from "../../../core/instruct/general.ts";
import { LETTERS } from "../../../core/prompts/letters.ts";
import { LMMS_MC_PRE_PROMPT } from "../../../core/prompts/lmms_mc.ts";
import { VSI_MCA_POST, VSI_NA_POST, VSI_PRE_PROMPT } from "../../../core/prompts/vsi.ts";
import { Rng } from "../../../core/random.ts";
import { annotateSequence } from "../../../core/scene/annotate.ts";
import { describeScene, generateScene, renderVideo } from "../../../core/scene/generate.ts";
import type { CorrespondenceSequence, SceneDescription } from "../../../core/scene/types.ts";
import {
  canInfer,
  lmmsLeadingLetter,
  pythonFloat,
  vsiFuzzyMatching,
} from "../../../eval/benchmarks/harness_extraction.ts";

/** Rendered 8 × 8-token sequences of 10 frames (224²) from two generated scenes. */
async function renderedSequences(): Promise<CorrespondenceSequence[]> {
  const out: CorrespondenceSequence[] = [];
  for (const seed of [21, 22]) {
    const scene = generateScene(seed);
    const idx = [3, 9, 15, 22, 30, 41, 50, 62, 75, 88];
    const frames = await renderVideo(scene, scene.trajectory, { width: 224, height: 224, frames: idx, workers: 2 });
    out.push(annotateSequence(frames, idx, { rows: 8, cols: 8, patchSize: 28 }, new Rng(seed), {
      id: `s${seed}`,
      scene: describeScene(scene),
    }));
  }
  return out;
}

const SEQS = await renderedSequences();

function items(n: number, seed: number, format?: (typeof GENERAL_FORMATS)[number]) {
  const rng = new Rng(seed);
  const out: (GeneralItem & { frames: number[]; seq: CorrespondenceSequence })[] = [];
  for (let i = 0; out.length < n && i < 4 * n; i++) {
    const seq = SEQS[i % SEQS.length];
    const it = generalInstructionItem(seq, rng, format ? { format } : {});
    if (it) out.push({ ...it, seq });
  }
  return out;
}

Deno.test("every format shows its harness' image count and prompt wording and answers as that harness scores", () => {
  for (const format of GENERAL_FORMATS) {
    for (const it of items(60, 1, format)) {
      assert.equal(it.images.length, FORMAT_IMAGES[format], format);
      assert.equal(it.frames.length, FORMAT_IMAGES[format]);
      if (format.startsWith("vsi")) assert.deepEqual(it.frames, [...it.frames].sort((a, b) => a - b));
      const choices = Object.fromEntries((it.options ?? []).map((o, i) => [LETTERS[i], o]));
      const letter = it.gold === null ? "" : LETTERS[it.gold];
      switch (format) {
        case "cv-bench":
        case "blink": {
          assert.match(it.answer, /^\([A-D]\)$/);
          assert.ok(
            it.prompt.startsWith(
              LMMS_MC_PRE_PROMPT.replace("{}", [...LETTERS.slice(0, it.options!.length)].join(", ")),
            ),
          );
          assert.ok(
            it.prompt.includes(
              format === "blink"
                ? "Select from the following options.\n(A) "
                : "Select from the following choices.\n(A) ",
            ),
          );
          if (format === "cv-bench") assert.ok(it.prompt.includes("information.\n\n"), "CV-Bench's blank line");
          assert.equal(lmmsLeadingLetter(it.answer), letter);
          break;
        }
        case "all-angles":
          assert.match(it.answer, /^[ABC]$/);
          assert.equal(it.options!.length, 3);
          assert.ok(
            it.prompt.startsWith("Question: ") &&
              it.prompt.endsWith("Please select the correct answer from the options above. \n"),
          );
          assert.equal(canInfer(it.answer, choices), letter);
          break;
        case "vsi-choice":
          assert.match(it.answer, /^[A-D]$/);
          assert.ok(it.prompt.startsWith(VSI_PRE_PROMPT + "\n") && it.prompt.endsWith("\n" + VSI_MCA_POST));
          assert.equal(vsiFuzzyMatching(it.answer), letter);
          break;
        case "vsi-number":
          assert.match(it.answer, /^\d+$/);
          assert.equal(it.kind, "count");
          assert.ok(it.prompt.startsWith(VSI_PRE_PROMPT + "\n") && it.prompt.endsWith("\n" + VSI_NA_POST));
          assert.equal(pythonFloat(vsiFuzzyMatching(it.answer)), Number(it.answer));
          break;
      }
      if (it.options) {
        assert.ok(it.options.length >= 2 && it.options.length <= 4);
        assert.equal(new Set(it.options).size, it.options.length, "distinct options");
      }
    }
  }
});

Deno.test("gold letters are uniform over the options and every kind and format occurs", () => {
  const all = items(3000, 2);
  const byK = new Map<number, number[]>();
  for (const it of all) {
    if (it.gold === null) continue;
    const k = it.options!.length;
    if (!byK.has(k)) byK.set(k, new Array(k).fill(0));
    byK.get(k)![it.gold]++;
  }
  for (const [k, counts] of byK) {
    const n = counts.reduce((a, b) => a + b, 0);
    for (const c of counts) {
      // within 5 binomial standard deviations of n/k
      const sd = Math.sqrt(n * (1 / k) * (1 - 1 / k));
      assert.ok(Math.abs(c - n / k) < 5 * sd + 1, `k=${k}: ${counts}`);
    }
  }
  for (const kind of GENERAL_KINDS) assert.ok(all.some((it) => it.kind === kind), kind);
  for (const f of GENERAL_FORMATS) {
    const share = all.filter((it) => it.format === f).length / all.length;
    assert.ok(Math.abs(share - DEFAULT_FORMAT_WEIGHTS[f]) < 0.06, `${f}: ${share}`);
  }
});

/** Words of spatial questions (depth, distance, direction, size, camera motion, cross-view correspondence). */
const SPATIAL =
  /\b(near|nearer|nearest|closer|closest|far|farther|farthest|distance|left|right|front|behind|back|above|below|under|over|between|next to|depth|direction|camera|turn|rotate|move|moving|size|big|bigger|large|larger|small|smaller|tall|taller|meter|metre|corresponds?|same point|position|where)\b/i;

Deno.test("no general item needs geometry: no spatial words, and answers are unchanged when every image's pixels are permuted or the poses and depths are destroyed", () => {
  const base = items(400, 3);
  for (const it of base) {
    assert.ok(!SPATIAL.test(it.question), it.question);
    for (const o of it.options ?? []) assert.ok(!SPATIAL.test(o), o);
  }
  // The same draws on (1) frames whose poses, intrinsics and depths are NaN: identical items, pixels included;
  // (2) frames whose pixels (rgb and object ids together) are shuffled: identical questions and answers.
  const perm = new Rng(9).shuffle([...Array(224 * 224).keys()]);
  const scrambled = SEQS.map((s) => ({
    ...s,
    frames: s.frames.map((f) => {
      const rgb = new Uint8Array(f.rgb.length), objectId = new Uint16Array(f.objectId!.length);
      perm.forEach((src, dst) => {
        rgb.set(f.rgb.subarray(src * 3, src * 3 + 3), dst * 3);
        objectId[dst] = f.objectId![src];
      });
      return { ...f, rgb, objectId };
    }),
  }));
  const broken = SEQS.map((s) => ({
    ...s,
    frames: s.frames.map((f) => ({
      ...f,
      depth: new Float32Array(f.depth.length).fill(NaN),
      K: f.K.map((r) => r.map(() => NaN)) as typeof f.K,
      worldToCamera: f.worldToCamera.map((r) => r.map(() => NaN)) as typeof f.worldToCamera,
    })),
  }));
  for (const [variant, seqs, samePixels] of [["broken", broken, true], ["scrambled", scrambled, false]] as const) {
    const rng = new Rng(3);
    let k = 0;
    for (let i = 0; k < base.length; i++) {
      const it = generalInstructionItem(seqs[i % seqs.length], rng);
      if (!it) continue;
      const want = base[k++];
      const key = (x: GeneralItem) => [x.format, x.kind, x.question, x.options, x.gold, x.answer, x.prompt];
      assert.deepEqual(key(it), key(want), variant);
      if (samePixels) assert.deepEqual(it.images.map((m) => m.data), want.images.map((m) => m.data));
    }
  }
});

Deno.test("answers agree with the pixels: counts and colours recomputed from the object-id maps", () => {
  for (const it of items(400, 4)) {
    if (it.view === null || (it.kind !== "count" && it.kind !== "color")) continue;
    const f = it.seq.frames[it.frames[it.view]];
    const px = new Map<number, number>();
    for (const id of f.objectId!) px.set(id, (px.get(id) ?? 0) + 1);
    const min = minVisiblePixels(f);
    const shape = /How many (box|sphere|cylinder)/.exec(it.question)?.[1] ??
      /the (box|sphere|cylinder) in/.exec(it.question)![1];
    const seen = it.seq.scene!.objects.filter((o) =>
      o.shape === shape && o.name !== "cabinet" && (px.get(o.id) ?? 0) >= min
    );
    const gold = it.options ? it.options[it.gold!] : it.answer;
    if (it.kind === "count") assert.equal(gold, String(seen.length), it.question);
    else assert.deepEqual([gold], seen.map((o) => o.color), it.question);
  }
});

const SCENE: SceneDescription = {
  id: "hand",
  seed: 0,
  roomSize: [8, 3, 8],
  up: [0, 1, 0],
  objects: [
    { id: 1, shape: "box", name: "red box", color: "red", center: [0, 0, 0], size: [1, 1, 1] },
    { id: 2, shape: "sphere", name: "blue sphere", color: "blue", center: [0, 0, 0], size: [1, 1, 1] },
    { id: 3, shape: "sphere", name: "green sphere", color: "green", center: [0, 0, 0], size: [1, 1, 1] },
    { id: 4, shape: "cylinder", name: "red cylinder", color: "red", center: [0, 0, 0], size: [1, 1, 1] },
    { id: 5, shape: "box", name: "cabinet", color: "mixed", center: [0, 0, 0], size: [1, 1, 1] },
  ],
};
const view = (px: Record<number, number>): GeneralView => ({
  image: { width: 224, height: 224, data: new Uint8Array(224 * 224 * 3) },
  objectPixels: new Map(Object.entries(px).map(([k, v]) => [Number(k), v])),
});

Deno.test("partly visible objects and a visible cabinet make the questions that depend on them unaskable", () => {
  // A blue sphere fully seen, a green sphere with 10 pixels (partial), a red box seen, a red cylinder not seen.
  const v = view({ 1: 400, 2: 300, 3: 10 });
  const seen = new Map<string, Set<string>>();
  for (let s = 0; s < 400; s++) {
    const it = generalItem(SCENE, [v], "cv-bench", new Rng(s));
    if (!it) continue;
    const gold = it.options![it.gold!];
    if (!seen.has(it.question)) seen.set(it.question, new Set());
    seen.get(it.question)!.add(gold);
    assert.ok(!/sphere/.test(it.question) || it.kind === "presence", `no sphere question: ${it.question}`);
    if (it.kind === "presence") {
      assert.ok(["red box", "blue sphere"].includes(gold));
      for (const o of it.options!) {
        if (o !== gold) assert.ok(!["red box", "blue sphere", "green sphere"].includes(o), o);
      }
    }
  }
  assert.deepEqual([...seen.get("What shape is the blue object in the image?")!], ["sphere"]);
  assert.deepEqual([...seen.get("What color is the box in the image?")!], ["red"]);
  assert.deepEqual([...seen.get("How many boxes are in the image?")!], ["1"]);
  assert.deepEqual([...seen.get("What shape is the red object in the image?")!], ["box"]); // the red cylinder is unseen
  // Two red objects in view: "the red object" is ambiguous and never asked.
  for (let s = 0; s < 200; s++) {
    const it = generalItem(SCENE, [view({ 1: 400, 4: 200 })], "cv-bench", new Rng(s));
    assert.ok(it?.question !== "What shape is the red object in the image?");
  }
  // With a cabinet in view no box question is asked (a cabinet is box-shaped).
  for (let s = 0; s < 200; s++) {
    const it = generalItem(SCENE, [view({ 1: 400, 5: 50 })], "cv-bench", new Rng(s));
    assert.ok(!it || !/box/.test(it.question + (it.options ?? []).join()), it?.question);
  }
});
