/**
 * Exact answers for the synthetic spatial questions, computed from the scene description and camera poses only
 * (no pixels), so they can be checked against hand-made scenes. Ambiguous cases (near an axis, near a tie) return
 * null and are not asked.
 *
 * Conventions: world y is up (SceneDescription.up); cameras are OpenCV world-to-camera [R|t] (row 0 = right,
 * row 1 = down, row 2 = forward, in world coordinates).
 */
import type { Mat34, SceneDescription, SceneObject } from "../../../core/scene/types.ts";

type V3 = [number, number, number];

const sub = (a: V3, b: V3): V3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const dot = (a: V3, b: V3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: V3, b: V3): V3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const rowOf = (m: Mat34, i: number): V3 => [m[i][0], m[i][1], m[i][2]];

export function cameraCenterOf(m: Mat34): V3 {
  const t: V3 = [m[0][3], m[1][3], m[2][3]];
  return [0, 1, 2].map((j) => -(m[0][j] * t[0] + m[1][j] * t[1] + m[2][j] * t[2])) as V3;
}

/** Horizontal component (perpendicular to `up`). */
function flat(v: V3, up: V3): V3 {
  const k = dot(v, up);
  return [v[0] - k * up[0], v[1] - k * up[1], v[2] - k * up[2]];
}

/** Where the second camera stands relative to the first one's view: "left" or "right" (null if within `minDeg`). */
export function cameraTranslationDirection(pose1: Mat34, pose2: Mat34, minDeg = 10): "left" | "right" | null {
  const d = sub(cameraCenterOf(pose2), cameraCenterOf(pose1));
  const x = dot(d, rowOf(pose1, 0)), z = dot(d, rowOf(pose1, 2));
  if (Math.abs(Math.atan2(x, Math.abs(z) + 1e-12)) < (minDeg * Math.PI) / 180) return null;
  return x > 0 ? "right" : "left";
}

/** Which way the camera panned from view 1 to view 2: the new forward's component along the old right axis. */
export function cameraPanDirection(pose1: Mat34, pose2: Mat34, minDeg = 5): "left" | "right" | null {
  const f2 = rowOf(pose2, 2);
  const x = dot(f2, rowOf(pose1, 0)), z = dot(f2, rowOf(pose1, 2));
  if (Math.abs(Math.atan2(x, z)) < (minDeg * Math.PI) / 180) return null;
  return x > 0 ? "right" : "left";
}

/** The noun a counting question asks about: the last word of the object's name ("small red box" → "box"). */
export function nounOf(o: SceneObject): string {
  return o.name.trim().split(/\s+/).pop() ?? o.shape;
}

export function countObjects(scene: SceneDescription, noun: string, visible?: ReadonlySet<number>): number {
  return scene.objects.filter((o) => nounOf(o) === noun && (!visible || visible.has(o.id))).length;
}

/** Index of the candidate whose centre is closest to the target's, if it wins by `margin` (relative); else null. */
export function closestObject(target: SceneObject, candidates: readonly SceneObject[], margin = 0.15): number | null {
  const d = candidates.map((c) => Math.hypot(...sub(c.center, target.center)));
  const order = d.map((_, i) => i).sort((a, b) => d[a] - d[b]);
  if (order.length < 2) return order.length ? order[0] : null;
  return d[order[1]] - d[order[0]] >= margin * d[order[1]] ? order[0] : null;
}

export type Quadrant = "front-left" | "front-right" | "back-left" | "back-right";
export const QUADRANTS: Quadrant[] = ["front-left", "front-right", "back-left", "back-right"];

/**
 * "If I am standing by `standing` and facing `facing`, is `query` to my front-left, …?" in the horizontal plane.
 * Right = forward × up (the OpenCV camera convention). Null when the query lies within `minDeg` of an axis.
 */
export function relativeQuadrant(
  scene: SceneDescription,
  standing: SceneObject,
  facing: SceneObject,
  query: SceneObject,
  minDeg = 15,
): Quadrant | null {
  const up = scene.up as V3;
  const f = flat(sub(facing.center, standing.center), up);
  const right = cross(f, up);
  const q = flat(sub(query.center, standing.center), up);
  const x = dot(q, right), y = dot(q, f);
  const ang = Math.abs(Math.atan2(x, y)) * (180 / Math.PI);
  if (ang < minDeg || Math.abs(ang - 90) < minDeg || ang > 180 - minDeg) return null;
  return `${y > 0 ? "front" : "back"}-${x < 0 ? "left" : "right"}` as Quadrant;
}

/** Which object's centre is nearer the camera (camera z), if the farther is ≥ `ratio` × the nearer; else null. */
export function nearerToCamera(pose: Mat34, a: SceneObject, b: SceneObject, ratio = 1.2): "a" | "b" | null {
  const z = (o: SceneObject) => dot(rowOf(pose, 2), o.center as V3) + pose[2][3];
  const za = z(a), zb = z(b);
  if (za <= 0 || zb <= 0) return null;
  if (zb >= ratio * za) return "a";
  if (za >= ratio * zb) return "b";
  return null;
}

/** Rotates `options` so that `gold` lands at index `at` (balances gold letters without changing the option set). */
export function placeGold<T>(options: readonly T[], gold: T, at: number): T[] {
  const g = options.indexOf(gold);
  if (g < 0) throw new Error("placeGold: gold not among options");
  const n = options.length;
  const shift = ((g - (at % n)) % n + n) % n;
  return options.map((_, i) => options[(i + shift) % n]);
}
