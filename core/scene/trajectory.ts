/**
 * Camera trajectories for the synthetic videos: orbit, walk-through, forward motion and pure rotation.
 * A trajectory is plain data (it travels to render workers) and `cameraPose(traj, frame)` is a pure function of the
 * frame index, so any subset of frames can be rendered without rendering the video in order.
 *
 * Speed is constant (linear in the frame index) plus a slow sinusoidal sway, and the total sweep is bounded so that
 * frames up to 48 apart (App. A's window R = 48) still look at overlapping parts of the scene: an orbit turns at most
 * ~100° around the objects over the whole video, a pure rotation pans at most 80° with a 60° field of view over
 * 96 frames (40° per 48 frames), walks and forward motions keep looking at the object area.
 */
import { lookAt, type Mat34, type Vec3 } from "../geometry/camera.ts";
import type { Rng } from "../random.ts";

export type TrajectoryKind = "orbit" | "walk" | "forward" | "rotation";
export const TRAJECTORY_KINDS: TrajectoryKind[] = ["orbit", "walk", "forward", "rotation"];

export interface Trajectory {
  kind: TrajectoryKind;
  /** Frames in the video (frame indices 0 … videoLength - 1). */
  videoLength: number;
  /** Vertical field of view in degrees (images are rendered with a centred principal point, square pixels). */
  fovYDeg: number;
  /** Eye position at the start and end (linear in between; orbit and rotation use centre/radius/angles instead). */
  eyeStart: Vec3;
  eyeEnd: Vec3;
  /** Look-at target at the start and end (linear in between). */
  targetStart: Vec3;
  targetEnd: Vec3;
  /** Orbit: centre (xz) and radius; rotation: yaw range (radians) around the fixed eye. */
  center: Vec3;
  radius: number;
  angleStart: number;
  angleEnd: number;
  /** Eye height (metres) and its sway amplitude; sway phase. */
  height: number;
  sway: number;
  phase: number;
}

/** Geometry the trajectory must respect: the camera stays in the annulus between the object disk and the walls. */
export interface TrajectoryBounds {
  center: Vec3;
  /** Objects lie within this radius of `center` (xz). */
  objectRadius: number;
  /** Camera stays within this radius (inside the walls). */
  maxRadius: number;
}

/** World-to-camera pose at `frame` (fractional frames allowed). World y is up. */
export function cameraPose(tr: Trajectory, frame: number): Mat34 {
  const s = tr.videoLength > 1 ? frame / (tr.videoLength - 1) : 0;
  const swayY = tr.sway * Math.sin(2 * Math.PI * s + tr.phase);
  const up: Vec3 = [0, 1, 0];
  if (tr.kind === "orbit") {
    const a = tr.angleStart + (tr.angleEnd - tr.angleStart) * s;
    const eye: Vec3 = [
      tr.center[0] + tr.radius * Math.cos(a),
      tr.height + swayY,
      tr.center[2] + tr.radius * Math.sin(a),
    ];
    return lookAt(eye, lerp(tr.targetStart, tr.targetEnd, s), up);
  }
  if (tr.kind === "rotation") {
    const yaw = tr.angleStart + (tr.angleEnd - tr.angleStart) * s;
    const pitch = -0.15 + 0.05 * Math.sin(2 * Math.PI * s + tr.phase);
    const eye = tr.eyeStart;
    const dir: Vec3 = [Math.cos(pitch) * Math.cos(yaw), Math.sin(pitch), Math.cos(pitch) * Math.sin(yaw)];
    return lookAt(eye, [eye[0] + dir[0], eye[1] + dir[1], eye[2] + dir[2]], up);
  }
  const eye = lerp(tr.eyeStart, tr.eyeEnd, s);
  eye[1] += swayY;
  return lookAt(eye, lerp(tr.targetStart, tr.targetEnd, s), up);
}

function lerp(a: Vec3, b: Vec3, s: number): Vec3 {
  return [a[0] + (b[0] - a[0]) * s, a[1] + (b[1] - a[1]) * s, a[2] + (b[2] - a[2]) * s];
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
  };
  const ring = (a: number, r: number, y: number): Vec3 => [cx + r * Math.cos(a), y, cz + r * Math.sin(a)];
  const nearCentre = (): Vec3 => ring(rng.uniform(0, 2 * Math.PI), rng.uniform(0, b.objectRadius * 0.4), 0.5);
  switch (kind) {
    case "orbit": {
      const sweep = rng.uniform(1.0, 1.75) * (rng.next() < 0.5 ? -1 : 1);
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
      const sweep = rng.uniform(0.9, 1.4) * (rng.next() < 0.5 ? -1 : 1);
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
