/**
 * Camera trajectories for the synthetic videos: orbit, walk-through, forward motion and pure rotation, each carried
 * by a hand-held "look-around": the view direction swings in yaw and pitch around the kind's base direction.
 * A trajectory is plain data (it travels to render workers) and `cameraPose(traj, frame)` is a pure function of the
 * frame index, so any subset of frames can be rendered without rendering the video in order.
 *
 * Why the look-around: with smooth one-directional motion the image moves along one axis, and a point that stays in
 * view can only have moved a few tokens; on an 8 × 8 grid "the point did not move" (each query's own token) then
 * scores ~70 % PCK@2 (measured on the previous trajectories), so held-out PCK could not tell correspondence from
 * doing nothing. Independent yaw and pitch swings move every point in both image axes, by amounts that do not grow
 * with Δt, so most visible pairs have moved ≥ 2 tokens while staying in view (App. A tracks are unchanged).
 * The base motions are slow (an orbit turns 45-80° around the objects, a rotation pans 23-46°) so that frames up to
 * 48 apart (App. A's window R = 48) still overlap once the swings are added.
 */
import { lookAt, type Mat34, type Vec3 } from "../geometry/camera.ts";
import type { Rng } from "../random.ts";

/** The base camera motion of a synthetic video. */
export type TrajectoryKind = "orbit" | "walk" | "forward" | "rotation";
export const TRAJECTORY_KINDS: TrajectoryKind[] = ["orbit", "walk", "forward", "rotation"];

/** A synthetic video's camera path as plain data (`cameraPose(traj, frame)` evaluates it). */
export interface Trajectory {
  /** The base motion. */
  kind: TrajectoryKind;
  /** Frames in the video (frame indices 0 … videoLength - 1). */
  videoLength: number;
  /** Vertical field of view in degrees (images are rendered with a centred principal point, square pixels). */
  fovYDeg: number;
  /** Eye position at the start and end (linear in between; orbit and rotation use centre/radius/angles instead). */
  eyeStart: Vec3;
  /** Eye position at the end. */
  eyeEnd: Vec3;
  /** Look-at target at the start and end (linear in between). */
  targetStart: Vec3;
  /** Look-at target at the end. */
  targetEnd: Vec3;
  /** Orbit: centre (xz) and radius; rotation: yaw range (radians) around the fixed eye. */
  center: Vec3;
  /** Orbit radius (metres). */
  radius: number;
  /** Orbit / rotation angle at the start (radians). */
  angleStart: number;
  /** Orbit / rotation angle at the end (radians). */
  angleEnd: number;
  /** Eye height (metres) and its sway amplitude; sway phase. */
  height: number;
  /** Eye-height sway amplitude (metres). */
  sway: number;
  /** Sway phase (radians). */
  phase: number;
  /**
   * Look-around: yaw and pitch swings (radians) added to the base view direction, each a sum of sine waves. Absent or
   * empty: the camera looks exactly along the base direction (still views, e.g. eval's synthetic benchmarks).
   */
  yawWaves?: Wave[];
  /** Pitch swing waves. */
  pitchWaves?: Wave[];
}

/** One sine wave of a look-around swing: amp · sin(2π · cycles · s + phase), s = frame / (videoLength − 1). */
export interface Wave {
  /** Amplitude (radians). */
  amp: number;
  /** Cycles over the video. */
  cycles: number;
  /** Phase (radians). */
  phase: number;
}

function swing(waves: Wave[] | undefined, s: number): number {
  let x = 0;
  for (const w of waves ?? []) x += w.amp * Math.sin(2 * Math.PI * w.cycles * s + w.phase);
  return x;
}

/** Geometry the trajectory must respect: the camera stays in the annulus between the object disk and the walls. */
export interface TrajectoryBounds {
  center: Vec3;
  /** Objects lie within this radius of `center` (xz). */
  objectRadius: number;
  /** Camera stays within this radius (inside the walls). */
  maxRadius: number;
}

/** Pitch never leaves ±MAX_PITCH (radians), so the view stays well away from the up axis (lookAt's singularity). */
const MAX_PITCH = 0.9;

/** World-to-camera pose at `frame` (fractional frames allowed). World y is up. */
export function cameraPose(tr: Trajectory, frame: number): Mat34 {
  const s = tr.videoLength > 1 ? frame / (tr.videoLength - 1) : 0;
  const swayY = tr.sway * Math.sin(2 * Math.PI * s + tr.phase);
  let eye: Vec3, dir: Vec3;
  if (tr.kind === "orbit") {
    const a = tr.angleStart + (tr.angleEnd - tr.angleStart) * s;
    eye = [tr.center[0] + tr.radius * Math.cos(a), tr.height + swayY, tr.center[2] + tr.radius * Math.sin(a)];
    dir = sub(lerp(tr.targetStart, tr.targetEnd, s), eye);
  } else if (tr.kind === "rotation") {
    const yaw = tr.angleStart + (tr.angleEnd - tr.angleStart) * s;
    const pitch = -0.15;
    eye = [tr.eyeStart[0], tr.eyeStart[1] + swayY, tr.eyeStart[2]];
    dir = [Math.cos(pitch) * Math.cos(yaw), Math.sin(pitch), Math.cos(pitch) * Math.sin(yaw)];
  } else {
    eye = lerp(tr.eyeStart, tr.eyeEnd, s);
    eye[1] += swayY;
    dir = sub(lerp(tr.targetStart, tr.targetEnd, s), eye);
  }
  if (!tr.yawWaves?.length && !tr.pitchWaves?.length) return lookAt(eye, add(eye, dir), [0, 1, 0]);
  // Base direction as yaw/pitch, plus the look-around swings.
  const yaw0 = Math.atan2(dir[2], dir[0]);
  const pitch0 = Math.atan2(dir[1], Math.hypot(dir[0], dir[2]));
  const yaw = yaw0 + swing(tr.yawWaves, s);
  const pitchRaw = pitch0 + swing(tr.pitchWaves, s);
  const pitch = Math.max(-MAX_PITCH, Math.min(MAX_PITCH, pitchRaw));
  const d: Vec3 = [Math.cos(pitch) * Math.cos(yaw), Math.sin(pitch), Math.cos(pitch) * Math.sin(yaw)];
  return lookAt(eye, add(eye, d), [0, 1, 0]);
}

function add(a: Vec3, b: Vec3): Vec3 {
  return [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
}

function lerp(a: Vec3, b: Vec3, s: number): Vec3 {
  return [a[0] + (b[0] - a[0]) * s, a[1] + (b[1] - a[1]) * s, a[2] + (b[2] - a[2]) * s];
}

function sub(a: Vec3, b: Vec3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}

/**
 * Look-around sizes, measured on the default held-out split (200 sequences of 8 frames from the ±48 window, 8 × 8
 * grid; `deno task data` prints the figures): RMS swings of 20° in yaw and 13° in pitch, each the sum of 3 waves of
 * 2.5-8 cycles per 96-frame video (periods of 12-38 frames, so even Δt ≤ 8 pairs have moved), give a stationary
 * PCK@2 of 24 % (the smooth trajectories alone: 69 %) with a median displacement of ~2.8 tokens, and frames 48 apart
 * still share a third of their points (median). Larger swings lose too many tracks out of view; smaller ones or
 * lower frequencies leave the short-Δt pairs unmoved (RMS 14°: 38 %; 1.5-5 cycles: 33 %).
 */
export const LOOK_AROUND = {
  yawRmsDeg: 20,
  pitchRmsDeg: 13,
  waves: 3,
  minCycles: 2.5,
  maxCycles: 8,
};

/** Random waves whose summed swing has RMS `rms` (radians): frequencies in LOOK_AROUND's range, random phases. */
function lookAroundWaves(rng: Rng, rms: number): Wave[] {
  const w = Array.from({ length: LOOK_AROUND.waves }, () => ({
    amp: rng.uniform(0.5, 1),
    cycles: rng.uniform(LOOK_AROUND.minCycles, LOOK_AROUND.maxCycles),
    phase: rng.uniform(0, 2 * Math.PI),
  }));
  const r = Math.sqrt(w.reduce((a, x) => a + x.amp * x.amp / 2, 0)); // RMS of a sum of sines: √(Σ a²/2)
  return w.map((x) => ({ ...x, amp: (x.amp * rms) / r }));
}

/** A random trajectory of `kind` that stays in the camera annulus of `b` and looks at the object area. */
export function randomTrajectory(
  rng: Rng,
  kind: TrajectoryKind,
  b: TrajectoryBounds,
  videoLength = 96,
  fovYDeg = 60,
): Trajectory {
  const [cx, , cz] = b.center;
  const rMin = b.objectRadius + 0.6, rMax = b.maxRadius;
  const height = rng.uniform(1.2, 1.8);
  const a0 = rng.uniform(0, 2 * Math.PI);
  const deg = Math.PI / 180;
  const base: Trajectory = {
    kind,
    videoLength,
    fovYDeg,
    eyeStart: [0, 0, 0],
    eyeEnd: [0, 0, 0],
    targetStart: [0, 0, 0],
    targetEnd: [0, 0, 0],
    center: [cx, 0, cz],
    radius: 0,
    angleStart: 0,
    angleEnd: 0,
    height,
    sway: rng.uniform(0.02, 0.08),
    phase: rng.uniform(0, 2 * Math.PI),
    yawWaves: lookAroundWaves(rng, LOOK_AROUND.yawRmsDeg * deg),
    pitchWaves: lookAroundWaves(rng, LOOK_AROUND.pitchRmsDeg * deg),
  };
  const ring = (a: number, r: number, y: number): Vec3 => [cx + r * Math.cos(a), y, cz + r * Math.sin(a)];
  const nearCentre = (): Vec3 => ring(rng.uniform(0, 2 * Math.PI), rng.uniform(0, b.objectRadius * 0.4), 0.5);
  switch (kind) {
    case "orbit": {
      const sweep = rng.uniform(0.8, 1.4) * (rng.next() < 0.5 ? -1 : 1);
      return {
        ...base,
        radius: rng.uniform(rMin, rMax),
        angleStart: a0,
        angleEnd: a0 + sweep,
        targetStart: nearCentre(),
        targetEnd: nearCentre(),
      };
    }
    case "walk": {
      // A straight walk along a chord of the camera annulus, looking across the objects.
      const r = rng.uniform(rMin + 0.1, rMax);
      const half = Math.min(0.6, Math.acos(Math.min(1, rMin / r)) * 0.9);
      const eyeStart = ring(a0 - half, r, height), eyeEnd = ring(a0 + half, r, height);
      return { ...base, eyeStart, eyeEnd, targetStart: nearCentre(), targetEnd: nearCentre() };
    }
    case "forward": {
      // Move toward the centre from near the wall, stopping short of the object disk.
      const r0 = rMax, r1 = Math.max(rMin, rMax - rng.uniform(1.2, 2.2));
      const target = ring(a0 + Math.PI + rng.uniform(-0.2, 0.2), b.objectRadius * 0.5, 0.6);
      return {
        ...base,
        eyeStart: ring(a0, r0, height),
        eyeEnd: ring(a0 + rng.uniform(-0.1, 0.1), r1, height),
        targetStart: target,
        targetEnd: [target[0], target[1] + rng.uniform(-0.2, 0.2), target[2]],
      };
    }
    case "rotation": {
      // Fixed eye in the annulus, panning across the room centre.
      const eye = ring(a0, rng.uniform(rMin, rMax), height);
      const toCentre = Math.atan2(cz - eye[2], cx - eye[0]);
      const sweep = rng.uniform(0.4, 0.8) * (rng.next() < 0.5 ? -1 : 1);
      return { ...base, eyeStart: eye, eyeEnd: eye, angleStart: toCentre - sweep / 2, angleEnd: toCentre + sweep / 2 };
    }
  }
}

/** Mean eye position over the video (used to place the foreground/background hard case). */
export function meanEye(tr: Trajectory): Vec3 {
  const acc: Vec3 = [0, 0, 0];
  const n = 9;
  for (let i = 0; i < n; i++) {
    const pose = cameraPose(tr, (i / (n - 1)) * (tr.videoLength - 1));
    // C = -R^T t
    for (let k = 0; k < 3; k++) {
      acc[k] -= (pose[0][k] * pose[0][3] + pose[1][k] * pose[1][3] + pose[2][k] * pose[2][3]) / n;
    }
  }
  return acc;
}
