/**
 * The synthetic spatial suites, rendered from core/scene's generated scenes and written in the real benchmarks'
 * file formats so the real loaders read them:
 *
 * | suite                  | format                                        | asks                                           |
 * | ---------------------- | --------------------------------------------- | ---------------------------------------------- |
 * | synthetic-camera-pose  | All-Angles data.json + images                 | camera translation / pan direction, 2 views    |
 * | synthetic-counting     | VSI parquet (object_counting) + frame folders | objects of a kind across the video (numeric)   |
 * | synthetic-rel-distance | VSI parquet (object_rel_distance)             | which object is closest to X                   |
 * | synthetic-rel-direction| VSI parquet (object_rel_direction_hard)       | quadrant of Z standing at X facing Y           |
 * | synthetic-correspondence| BLINK parquet (Visual_Correspondence)        | which marked point in view 2 is REF of view 1  |
 * | synthetic-depth-order  | CV-Bench parquet (3D, Depth)                  | which boxed object is closer to the camera     |
 *
 * Answers are exact from the scene description and camera poses (questions.ts); a fixed seed gives the same files;
 * gold letters / answers are balanced by construction (cycled), and the report shows the majority-answer baseline.
 * The build is cached: a manifest with the same options is reused.
 *
 * Wording checked against public copies of the real rows (`find_string`, 2026-11-26): the Visual_Correspondence
 * prompt below is the BLINK val prompt verbatim (quoted for `val_Visual_Correspondence_127` in eval logs and in
 * several repos); the depth question is CV-Bench's 3D Depth template "Which object is closer to the camera taking this
 * photo, the X (highlighted by a red box) or the Y (highlighted by a blue box)?" + " Select from the following
 * choices.\n(A) X\n(B) Y"; the direction question is VSI-Bench's rel-direction-hard wording (benchmark-formats.md
 * [V]). Our rel-distance question says "from the center of each object" (VSI says "from the closest point"), because
 * our exact answer uses centres. Synthetic CV-Bench rows use source "synthetic", so the official CV-Bench score is n/a
 * there and micro accuracy is the headline.
 */
import { join } from "node:path";
import { backProject, project, type Vec3 } from "../../../core/geometry/camera.ts";
import { writeFileAtomic } from "../../../core/io/atomic.ts";
import { Rng } from "../../../core/random.ts";
import { type GeneratedScene, generateScene, renderVideo } from "../../../core/scene/generate.ts";
import type { Frame, SceneObject } from "../../../core/scene/types.ts";
import { allAngles } from "../all_angles.ts";
import { blink } from "../blink.ts";
import { cvBench } from "../cv_bench.ts";
import {
  type AllAnglesJsonRecord,
  type BlinkRecord,
  type CvBenchRecord,
  type VsiRecord,
  writeAllAnglesDataset,
  writeBlinkParquet,
  writeCvBenchParquet,
  writeVsiParquet,
} from "../formats_write.ts";
import { encodeRgbPng, type RgbImage } from "../images.ts";
import type { BenchmarkModule, LoadOptions } from "../suite.ts";
import { LETTERS } from "../suite.ts";
import { vsiBench } from "../vsi_bench.ts";
import { drawBox, drawCircle, drawText } from "./draw.ts";
import {
  cameraPanDirection,
  cameraTranslationDirection,
  closestObject,
  countObjects,
  nearerToCamera,
  placeGold,
  QUADRANTS,
  relativeQuadrant,
} from "./questions.ts";
import { cameraRing, objectPixels, renderStill, ringEye } from "./views.ts";

/** How the synthetic suites are generated. */
export interface SyntheticOptions {
  /** Seed of every scene and question. */
  seed: number;
  /** Questions per suite (camera-pose gets this many in total, half translation, half pan). */
  perSuite: number;
  /** Square image side in pixels. */
  imageSize: number;
  /** Frames per VSI-style video. */
  frames: number;
}

/** The defaults: 16 questions per suite at 224², 8-frame videos. */
export const DEFAULT_SYNTHETIC: SyntheticOptions = { seed: 2026, perSuite: 16, imageSize: 224, frames: 8 };

/** One synthetic suite as written: its name, the real benchmark module that reads and scores it, where it is. */
export interface SyntheticSuiteSpec {
  /** Suite name ("synthetic-counting", …). */
  suite: string;
  /** The real benchmark's module (its format and scoring). */
  module: BenchmarkModule;
  /** The written files. */
  path: string;
  /** Options to load them with. */
  load: LoadOptions;
}

/** Pixels an object needs in some frame to count as visible: 30 at 224², scaled with the image area. */
const minPixels = (size: number) => Math.max(4, Math.round(30 * (size / 224) ** 2));

const png = (f: { width: number; height: number; rgb: Uint8Array }) => encodeRgbPng(f);
const copyImage = (f: Frame): RgbImage => ({ width: f.width, height: f.height, rgb: f.rgb.slice() });

export function syntheticSpecs(dir: string, o: SyntheticOptions): SyntheticSuiteSpec[] {
  const vsi = (name: string) => ({
    suite: `synthetic-${name}`,
    module: vsiBench,
    path: join(dir, "vsi", `${name}.parquet`),
    load: { framesDir: join(dir, "vsi", "frames"), frames: o.frames },
  });
  return [
    { suite: "synthetic-camera-pose", module: allAngles, path: join(dir, "all-angles"), load: {} },
    vsi("counting"),
    vsi("rel-distance"),
    vsi("rel-direction"),
    { suite: "synthetic-correspondence", module: blink, path: join(dir, "blink"), load: {} },
    { suite: "synthetic-depth-order", module: cvBench, path: join(dir, "cv-bench"), load: {} },
  ];
}

/** Builds (or reuses) all synthetic suites under `dir`; returns how to load each. */
export async function buildSyntheticSuites(
  dir: string,
  o: SyntheticOptions = DEFAULT_SYNTHETIC,
): Promise<SyntheticSuiteSpec[]> {
  const manifestPath = join(dir, "manifest.json");
  const want = JSON.stringify({ version: 2, options: o }); // 2: rel-distance has 4 options, letters balanced
  try {
    if ((await Deno.readTextFile(manifestPath)) === want) return syntheticSpecs(dir, o);
  } catch { /* not built yet */ }
  await buildCameraPose(join(dir, "all-angles"), o);
  await buildVsiSuites(join(dir, "vsi"), o);
  await buildCorrespondence(join(dir, "blink"), o);
  await buildDepthOrder(join(dir, "cv-bench"), o);
  await writeFileAtomic(manifestPath, want);
  return syntheticSpecs(dir, o);
}

function sceneFor(o: SyntheticOptions, suite: number, k: number): GeneratedScene {
  return generateScene((o.seed * 7919 + suite * 104729 + k) >>> 0, { trajectory: "orbit" });
}

const uniqueVisible = (scene: GeneratedScene, visible: ReadonlyMap<number, number>, size: number): SceneObject[] => {
  const names = new Map<string, number>();
  for (const ob of scene.objects) names.set(ob.name, (names.get(ob.name) ?? 0) + 1);
  return scene.objects.filter((ob) =>
    names.get(ob.name) === 1 && (visible.get(ob.id) ?? 0) >= minPixels(size) && ob.shape !== "plane"
  );
};

async function buildCameraPose(dir: string, o: SyntheticOptions): Promise<void> {
  const records: AllAnglesJsonRecord[] = [];
  const images = new Map<string, Uint8Array>();
  const rng = new Rng(o.seed ^ 0xca3e);
  for (let k = 0; records.length < o.perSuite && k < o.perSuite * 4; k++) {
    const scene = sceneFor(o, 1, k);
    const n = records.length;
    const pan = n % 2 === 1;
    const want = (n >> 1) % 2 === 0 ? "left" : "right";
    const ring = cameraRing(scene);
    const a = rng.uniform(0, 2 * Math.PI);
    const delta = (rng.uniform(30, 60) * Math.PI) / 180;
    let eye1 = ringEye(scene, a), eye2 = ringEye(scene, a + delta);
    let t1: Vec3 = ring.center, t2: Vec3 = ring.center;
    if (pan) {
      eye2 = eye1;
      const yaw = (rng.uniform(20, 35) * Math.PI) / 180;
      const d: Vec3 = [ring.center[0] - eye1[0], 0, ring.center[2] - eye1[2]];
      const rot = (s: number): Vec3 => [
        eye1[0] + d[0] * Math.cos(s * yaw) - d[2] * Math.sin(s * yaw),
        ring.center[1],
        eye1[2] + d[0] * Math.sin(s * yaw) + d[2] * Math.cos(s * yaw),
      ];
      t1 = ring.center;
      t2 = rot(1);
    }
    let f1 = renderStill(scene, eye1, t1, o.imageSize), f2 = renderStill(scene, eye2, t2, o.imageSize);
    let answer = pan
      ? cameraPanDirection(f1.worldToCamera, f2.worldToCamera)
      : cameraTranslationDirection(f1.worldToCamera, f2.worldToCamera);
    if (answer !== want) {
      // Swapping the two views reverses both motions: that gives the wanted answer (balanced left/right).
      [eye1, eye2, t1, t2] = [eye2, eye1, t2, t1];
      [f1, f2] = [f2, f1];
      answer = pan
        ? cameraPanDirection(f1.worldToCamera, f2.worldToCamera)
        : cameraTranslationDirection(f1.worldToCamera, f2.worldToCamera);
    }
    if (answer === null || answer !== want) continue;
    const third = pan ? "it did not turn" : "at the same place";
    const opts = placeGold(["left", "right", third], answer, n % 3);
    const gold = LETTERS[opts.indexOf(answer)];
    const q = pan
      ? "The two images were taken by the same camera standing still. Between the first and the second image, did the camera turn to the left or to the right?"
      : "The two images show the same scene from two cameras. Seen from the first camera, is the second camera to the left or to the right of it?";
    const folder = `${scene.id}_${n}`;
    const paths = [`synthetic_scenes/${folder}/view1.png`, `synthetic_scenes/${folder}/view2.png`];
    images.set(paths[0], png(f1));
    images.set(paths[1], png(f2));
    records.push({
      index: n,
      folder,
      category: pan ? "camera_rotation" : "camera_pose_estimation",
      pair_idx: String(n >> 1),
      sourced_dataset: "GASP-synthetic",
      image_path: paths,
      question: `${q} A. ${opts[0]}, B. ${opts[1]}, C. ${opts[2]}`,
      A: opts[0],
      B: opts[1],
      C: opts[2],
      answer: gold,
    });
  }
  await writeAllAnglesDataset(dir, records, images);
}

async function buildVsiSuites(dir: string, o: SyntheticOptions): Promise<void> {
  const counting: VsiRecord[] = [], distance: VsiRecord[] = [], direction: VsiRecord[] = [];
  const countHist = new Map<number, number>();
  const distanceByCount = new Map<number, number>();
  const rng = new Rng(o.seed ^ 0x51);
  let id = 0;
  for (
    let k = 0;
    k < o.perSuite * 4 &&
    (counting.length < o.perSuite || distance.length < o.perSuite || direction.length < o.perSuite);
    k++
  ) {
    const scene = sceneFor(o, 2, k);
    const len = scene.trajectory.videoLength;
    const idx = Array.from({ length: o.frames }, (_, i) => Math.floor((i * (len - 1)) / Math.max(1, o.frames - 1)));
    const frames = await renderVideo(scene, scene.trajectory, {
      width: o.imageSize,
      height: o.imageSize,
      frames: idx,
      workers: 0,
    });
    const visible = new Map<number, number>();
    for (const f of frames) {
      for (const [oid, s] of objectPixels(f)) visible.set(oid, Math.max(visible.get(oid) ?? 0, s.count));
    }
    const visSet = new Set([...visible].filter(([, c]) => c >= minPixels(o.imageSize)).map(([i]) => i));
    const sceneName = scene.id;
    let used = false;
    const base = { dataset: "synthetic", scene_name: sceneName };
    if (counting.length < o.perSuite) {
      const nouns = ["box", "sphere", "cylinder"].filter((nn) => countObjects(scene, nn, visSet) > 0);
      const byRarity = nouns.sort((x, y) =>
        (countHist.get(countObjects(scene, x, visSet)) ?? 0) - (countHist.get(countObjects(scene, y, visSet)) ?? 0)
      );
      if (byRarity.length) {
        const noun = byRarity[0];
        const c = countObjects(scene, noun, visSet);
        countHist.set(c, (countHist.get(c) ?? 0) + 1);
        counting.push({
          id: id++,
          ...base,
          question_type: "object_counting",
          question: `How many ${noun}(s) are in this room?`,
          ground_truth: String(c),
          options: null,
        });
        used = true;
      }
    }
    const uniq = uniqueVisible(scene, visible, o.imageSize);
    // Four candidates besides the target, as VSI's rel-distance rows have four options: with a mix of 3- and
    // 4-option items no cycle balances the letters exactly (A-C would win by a rounding item over D).
    if (distance.length < o.perSuite && uniq.length >= 5) {
      for (const target of rng.shuffle([...uniq])) {
        const cands = rng.shuffle(uniq.filter((u) => u !== target)).slice(0, 4);
        const best = closestObject(target, cands);
        if (best === null) continue;
        // Gold letters cycle per option count, so each count's letters are exactly balanced and the majority-letter
        // baseline equals chance (at 300 items: 75 per letter).
        const nOpt = cands.length, at = distanceByCount.get(nOpt) ?? 0;
        distanceByCount.set(nOpt, at + 1);
        const names = placeGold(cands.map((c) => c.name), cands[best].name, at % nOpt);
        distance.push({
          id: id++,
          ...base,
          question_type: "object_rel_distance",
          question: `Measuring from the center of each object, which of these objects (${
            names.join(", ")
          }) is the closest to the ${target.name}?`,
          ground_truth: LETTERS[names.indexOf(cands[best].name)],
          options: names.map((nm, i) => `${LETTERS[i]}. ${nm}`),
        });
        used = true;
        break;
      }
    }
    if (direction.length < o.perSuite && uniq.length >= 3) {
      const wantQ = QUADRANTS[direction.length % 4];
      let pick: [SceneObject, SceneObject, SceneObject] | null = null;
      outer: for (const a of uniq) {
        for (const b of uniq) {
          for (const c of uniq) {
            if (a === b || b === c || a === c) continue;
            if (relativeQuadrant(scene, a, b, c) === wantQ) {
              pick = [a, b, c];
              break outer;
            }
          }
        }
      }
      if (pick) {
        const [a, b, c] = pick;
        direction.push({
          id: id++,
          ...base,
          question_type: "object_rel_direction_hard",
          question:
            `If I am standing by the ${a.name} and facing the ${b.name}, is the ${c.name} to my front-left, front-right, back-left, or back-right? The directions refer to the quadrants of a Cartesian plane (if I am standing at the origin and facing along the positive y-axis).`,
          ground_truth: LETTERS[QUADRANTS.indexOf(wantQ)],
          options: QUADRANTS.map((q, i) => `${LETTERS[i]}. ${q}`),
        });
        used = true;
      }
    }
    if (used) {
      for (const [i, f] of frames.entries()) {
        await writeFileAtomic(join(dir, "frames", "synthetic", sceneName, `${String(i).padStart(3, "0")}.png`), png(f));
      }
    }
  }
  await writeVsiParquet(join(dir, "counting.parquet"), counting);
  await writeVsiParquet(join(dir, "rel-distance.parquet"), distance);
  await writeVsiParquet(join(dir, "rel-direction.parquet"), direction);
}

export const CORRESPONDENCE_PROMPT = "A point is circled on the first image, labeled with REF. We change the camera " +
  "position or lighting and shoot the second image. You are given multiple red-circled points on the second image, " +
  'choices of "A, B, C, D" are drawn beside each circle. Which point on the second image corresponds to the point in ' +
  "the first image? Select from the following options.\n(A) Point A\n(B) Point B\n(C) Point C\n(D) Point D";

async function buildCorrespondence(dir: string, o: SyntheticOptions): Promise<void> {
  const rows: BlinkRecord[] = [];
  const rng = new Rng(o.seed ^ 0xc0de);
  const s = o.imageSize;
  const minSep = 0.15 * s;
  for (let k = 0; rows.length < o.perSuite && k < o.perSuite * 4; k++) {
    const scene = sceneFor(o, 3, k);
    const ring = cameraRing(scene);
    const a = rng.uniform(0, 2 * Math.PI);
    const d = ((rng.int(2) ? 1 : -1) * rng.uniform(20, 40) * Math.PI) / 180;
    const f1 = renderStill(scene, ringEye(scene, a), ring.center, s),
      f2 = renderStill(scene, ringEye(scene, a + d), ring.center, s);
    // A reference pixel on an object in view 1 whose 3-D point is visible (depth-consistent) in view 2.
    let ref: { u1: number; v1: number; u2: number; v2: number } | null = null;
    for (let tries = 0; tries < 200 && !ref; tries++) {
      const x = 8 + rng.int(s - 16), y = 8 + rng.int(s - 16), p = y * s + x;
      if (f1.objectId![p] === 0) continue;
      const P = backProject(f1.K, f1.worldToCamera, x + 0.5, y + 0.5, f1.depth[p]);
      const q = project(f2.K, f2.worldToCamera, P);
      if (!(q.z > 0) || q.u < 10 || q.v < 10 || q.u > s - 10 || q.v > s - 10) continue;
      const z2 = f2.depth[Math.floor(q.v) * s + Math.floor(q.u)];
      if (Math.abs(z2 - q.z) > 0.03 * q.z) continue;
      ref = { u1: x + 0.5, v1: y + 0.5, u2: q.u, v2: q.v };
    }
    if (!ref) continue;
    const pts: [number, number][] = [[ref.u2, ref.v2]];
    for (let tries = 0; tries < 500 && pts.length < 4; tries++) {
      const u = 10 + rng.uniform(0, s - 20), v = 10 + rng.uniform(0, s - 20);
      if (pts.every(([pu, pv]) => Math.hypot(pu - u, pv - v) >= minSep)) pts.push([u, v]);
    }
    if (pts.length < 4) continue;
    const n = rows.length;
    const order = placeGold([0, 1, 2, 3], 0, n % 4);
    const im1 = copyImage(f1), im2 = copyImage(f2);
    drawCircle(im1, ref.u1, ref.v1, 6, [255, 0, 0]);
    drawText(
      im1,
      "REF",
      Math.min(s - 40, Math.round(ref.u1 + 8)),
      Math.max(2, Math.round(ref.v1 - 16)),
      [255, 0, 0],
      1,
    );
    for (const [slot, pi] of order.entries()) {
      const [u, v] = pts[pi];
      drawCircle(im2, u, v, 6, [255, 0, 0]);
      drawText(
        im2,
        LETTERS[slot],
        Math.min(s - 10, Math.round(u + 8)),
        Math.max(2, Math.round(v - 14)),
        [255, 0, 0],
        1,
      );
    }
    rows.push({
      idx: `val_Visual_Correspondence_${n + 1}`,
      question: "Which point on the second image corresponds to the point in the first image?",
      sub_task: "Visual_Correspondence",
      image_1: { bytes: png(im1), path: null },
      image_2: { bytes: png(im2), path: null },
      image_3: null,
      image_4: null,
      choices: ["Point A", "Point B", "Point C", "Point D"],
      answer: `(${LETTERS[order.indexOf(0)]})`,
      prompt: CORRESPONDENCE_PROMPT,
      explanation: "",
    });
  }
  await writeBlinkParquet(join(dir, "Visual_Correspondence", "val-00000-of-00001.parquet"), rows);
}

async function buildDepthOrder(dir: string, o: SyntheticOptions): Promise<void> {
  const rows: CvBenchRecord[] = [];
  const rng = new Rng(o.seed ^ 0xde9);
  const s = o.imageSize;
  for (let k = 0; rows.length < o.perSuite && k < o.perSuite * 4; k++) {
    const scene = sceneFor(o, 4, k);
    const f = renderStill(scene, ringEye(scene, rng.uniform(0, 2 * Math.PI)), cameraRing(scene).center, s);
    const px = objectPixels(f);
    const cands = uniqueVisible(scene, new Map([...px].map(([i, v]) => [i, v.count])), s).filter((ob) =>
      px.get(ob.id)!.count >= 4 * minPixels(s)
    );
    const n = rows.length;
    let pair: [SceneObject, SceneObject] | null = null;
    for (const a of rng.shuffle([...cands])) {
      for (const b of cands) {
        if (a === b) continue;
        const near = nearerToCamera(f.worldToCamera, a, b);
        // Balanced: even rows have the nearer object first (answer A), odd rows second (answer B).
        if (near === (n % 2 === 0 ? "a" : "b")) {
          pair = [a, b];
          break;
        }
      }
      if (pair) break;
    }
    if (!pair) continue;
    const [a, b] = pair;
    const im = copyImage(f);
    for (const [ob, c] of [[a, [255, 0, 0]], [b, [0, 0, 255]]] as const) {
      const bb = px.get(ob.id)!;
      drawBox(im, bb.x0, bb.y0, bb.x1, bb.y1, [...c]);
    }
    const question =
      `Which object is closer to the camera taking this photo, the ${a.name} (highlighted by a red box) or the ${b.name} (highlighted by a blue box)?`;
    rows.push({
      idx: n,
      type: "3D",
      task: "Depth",
      image: { bytes: png(im), path: null },
      question,
      choices: [a.name, b.name],
      answer: n % 2 === 0 ? "(A)" : "(B)",
      prompt: `${question} Select from the following choices.\n(A) ${a.name}\n(B) ${b.name}`,
      filename: `img/3D/depth/synthetic_${n}.png`,
      source: "synthetic",
      source_dataset: "GASP-synthetic",
      source_filename: scene.id,
      target_class: null,
      target_size: null,
      bbox: null,
    });
  }
  await writeCvBenchParquet(join(dir, "test_3d.parquet"), rows);
}
