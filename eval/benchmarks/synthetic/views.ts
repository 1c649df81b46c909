/**
 * Rendering still views of a generated scene from chosen camera poses (core/scene's ray caster through a one-frame
 * static trajectory), and the facts the synthetic questions need from a render: which objects are visible and where.
 */
import { cameraCenter, type Vec3 } from "../../../core/geometry/camera.ts";
import type { GeneratedScene, Trajectory } from "../../../core/scene/generate.ts";
import { layoutBounds } from "../../../core/scene/layout.ts";
import { renderFrame } from "../../../core/scene/render.ts";
import type { Frame } from "../../../core/scene/types.ts";

export const FOV_Y_DEG = 60;

/** A static camera at `eye` looking at `target`. */
export function staticTrajectory(eye: Vec3, target: Vec3): Trajectory {
  return {
    kind: "walk",
    videoLength: 1,
    fovYDeg: FOV_Y_DEG,
    eyeStart: eye,
    eyeEnd: eye,
    targetStart: target,
    targetEnd: target,
    center: target,
    radius: 0,
    angleStart: 0,
    angleEnd: 0,
    height: eye[1],
    sway: 0,
    phase: 0,
  };
}

export function renderStill(scene: GeneratedScene, eye: Vec3, target: Vec3, size: number): Frame {
  return renderFrame(scene, staticTrajectory(eye, target), 0, size, size);
}

/** Where cameras may stand: a ring between the object disk and the walls, eyes at 1.4 m, looking at the disk. */
export function cameraRing(scene: GeneratedScene): { center: Vec3; radius: number; eyeHeight: number } {
  const b = layoutBounds(scene.roomSize);
  return { center: [b.center[0], 0.4, b.center[2]], radius: (b.objectRadius + b.maxRadius) / 2, eyeHeight: 1.4 };
}

export function ringEye(scene: GeneratedScene, angle: number): Vec3 {
  const r = cameraRing(scene);
  return [r.center[0] + r.radius * Math.cos(angle), r.eyeHeight, r.center[2] + r.radius * Math.sin(angle)];
}

/** Pixel count and pixel bounding box per visible object id (id 0, the room, excluded). */
export function objectPixels(
  frame: Frame,
): Map<number, { count: number; x0: number; y0: number; x1: number; y1: number }> {
  const out = new Map<number, { count: number; x0: number; y0: number; x1: number; y1: number }>();
  const ids = frame.objectId!;
  for (let y = 0; y < frame.height; y++) {
    for (let x = 0; x < frame.width; x++) {
      const id = ids[y * frame.width + x];
      if (id === 0) continue;
      const s = out.get(id);
      if (!s) out.set(id, { count: 1, x0: x, y0: y, x1: x, y1: y });
      else {
        s.count++;
        s.x0 = Math.min(s.x0, x);
        s.x1 = Math.max(s.x1, x);
        s.y0 = Math.min(s.y0, y);
        s.y1 = Math.max(s.y1, y);
      }
    }
  }
  return out;
}

export function eyeOf(frame: Frame): Vec3 {
  return cameraCenter(frame.worldToCamera);
}
