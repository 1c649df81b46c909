/**
 * CPU ray caster for the synthetic scenes: one primary ray per pixel centre, nearest hit among the room box (seen
 * from inside) and the primitives, Lambertian shading with two fixed lights (view-independent, so a surface point has
 * the same colour in every frame). Outputs 8-bit RGB, metric depth as camera z (the ray direction is K^-1 [u, v, 1]
 * in camera axes, whose z is 1, so the hit parameter t IS the camera z) and the object id per pixel.
 */
import { intrinsicsFromFov, type Mat34 } from "../geometry/camera.ts";
import type { Frame } from "./types.ts";
import { albedo, type Material } from "./texture.ts";
import { cameraPose, type Trajectory } from "./trajectory.ts";

export type Primitive =
  | { kind: "box"; objectId: number; material: number; min: [number, number, number]; max: [number, number, number] }
  | { kind: "sphere"; objectId: number; material: number; center: [number, number, number]; radius: number }
  | {
    kind: "cylinder";
    objectId: number;
    material: number;
    /** Vertical (world y) axis through (x, z) = (center[0], center[2]), from y0 to y1. */
    center: [number, number, number];
    radius: number;
    y0: number;
    y1: number;
  };

/** Everything the renderer needs; plain data so it can be posted to workers. */
export interface RenderableScene {
  roomSize: [number, number, number];
  materials: Material[];
  /** Material index for the room faces: -x, +x, -y (floor), +y (ceiling), -z, +z. */
  roomMaterials: [number, number, number, number, number, number];
  primitives: Primitive[];
}

const LIGHT1 = normalized([0.35, 0.85, 0.4]);
const LIGHT2 = normalized([-0.6, 0.3, -0.5]);

function normalized(v: [number, number, number]): [number, number, number] {
  const n = Math.hypot(...v);
  return [v[0] / n, v[1] / n, v[2] / n];
}

/** Render one frame of `trajectory` at `width` × `height`. Deterministic: depends only on its arguments. */
export function renderFrame(
  scene: RenderableScene,
  trajectory: Trajectory,
  frameIndex: number,
  width: number,
  height: number,
): Frame {
  const K = intrinsicsFromFov(width, height, trajectory.fovYDeg);
  const pose = cameraPose(trajectory, frameIndex);
  const rgb = new Uint8Array(width * height * 3);
  const depth = new Float32Array(width * height);
  const objectId = new Uint16Array(width * height);
  renderInto(scene, K[0][0], K[1][1], K[0][2], K[1][2], pose, width, height, rgb, depth, objectId);
  return { width, height, K, worldToCamera: pose, rgb, depth, objectId };
}

function renderInto(
  scene: RenderableScene,
  fx: number,
  fy: number,
  cx: number,
  cy: number,
  R: Mat34,
  width: number,
  height: number,
  rgb: Uint8Array,
  depth: Float32Array,
  objectId: Uint16Array,
): void {
  // Camera centre C = -R^T t.
  const ox = -(R[0][0] * R[0][3] + R[1][0] * R[1][3] + R[2][0] * R[2][3]);
  const oy = -(R[0][1] * R[0][3] + R[1][1] * R[1][3] + R[2][1] * R[2][3]);
  const oz = -(R[0][2] * R[0][3] + R[1][2] * R[1][3] + R[2][2] * R[2][3]);
  const [sx, sy, sz] = scene.roomSize;
  const prims = scene.primitives;
  const col = new Float64Array(3);
  for (let i = 0; i < height; i++) {
    const yc = (i + 0.5 - cy) / fy;
    for (let j = 0; j < width; j++) {
      const xc = (j + 0.5 - cx) / fx;
      // World direction R^T [xc, yc, 1]; the hit parameter t equals camera z.
      const dx = R[0][0] * xc + R[1][0] * yc + R[2][0];
      const dy = R[0][1] * xc + R[1][1] * yc + R[2][1];
      const dz = R[0][2] * xc + R[1][2] * yc + R[2][2];
      // Room: exit through the nearest face from inside.
      let best = Infinity, nx = 0, ny = 0, nz = 0, mat = 0, oid = 0;
      {
        const tx = dx > 0 ? (sx - ox) / dx : dx < 0 ? -ox / dx : Infinity;
        const ty = dy > 0 ? (sy - oy) / dy : dy < 0 ? -oy / dy : Infinity;
        const tz = dz > 0 ? (sz - oz) / dz : dz < 0 ? -oz / dz : Infinity;
        if (tx <= ty && tx <= tz) {
          best = tx, nx = dx > 0 ? -1 : 1, mat = scene.roomMaterials[dx > 0 ? 1 : 0];
        } else if (ty <= tz) {
          best = ty, ny = dy > 0 ? -1 : 1, mat = scene.roomMaterials[dy > 0 ? 3 : 2];
        } else best = tz, nz = dz > 0 ? -1 : 1, mat = scene.roomMaterials[dz > 0 ? 5 : 4];
      }
      for (let k = 0; k < prims.length; k++) {
        const p = prims[k];
        if (p.kind === "box") {
          let t0 = 1e-6, t1 = best, ax = -1, sgn = 0;
          let ok = true;
          for (let a = 0; a < 3 && ok; a++) {
            const o = a === 0 ? ox : a === 1 ? oy : oz, d = a === 0 ? dx : a === 1 ? dy : dz;
            const inv = 1 / d;
            let ta = (p.min[a] - o) * inv, tb = (p.max[a] - o) * inv, s = -1;
            if (ta > tb) {
              const tmp = ta;
              ta = tb, tb = tmp, s = 1;
            }
            if (ta > t0) t0 = ta, ax = a, sgn = s;
            if (tb < t1) t1 = tb;
            if (t0 > t1) ok = false;
          }
          if (ok && ax >= 0 && t0 < best) {
            best = t0, nx = ax === 0 ? sgn : 0, ny = ax === 1 ? sgn : 0, nz = ax === 2 ? sgn : 0;
            mat = p.material, oid = p.objectId;
          }
        } else if (p.kind === "sphere") {
          const px = ox - p.center[0], py = oy - p.center[1], pz = oz - p.center[2];
          const a = dx * dx + dy * dy + dz * dz, b = px * dx + py * dy + pz * dz;
          const c = px * px + py * py + pz * pz - p.radius * p.radius;
          const disc = b * b - a * c;
          if (disc >= 0) {
            const t = (-b - Math.sqrt(disc)) / a;
            if (t > 1e-6 && t < best) {
              best = t, mat = p.material, oid = p.objectId;
              nx = (px + t * dx) / p.radius, ny = (py + t * dy) / p.radius, nz = (pz + t * dz) / p.radius;
            }
          }
        } else {
          const px = ox - p.center[0], pz = oz - p.center[2];
          const a = dx * dx + dz * dz, b = px * dx + pz * dz, c = px * px + pz * pz - p.radius * p.radius;
          const disc = b * b - a * c;
          if (disc >= 0 && a > 0) {
            const t = (-b - Math.sqrt(disc)) / a;
            const y = oy + t * dy;
            if (t > 1e-6 && t < best && y >= p.y0 && y <= p.y1) {
              best = t, mat = p.material, oid = p.objectId;
              nx = (px + t * dx) / p.radius, ny = 0, nz = (pz + t * dz) / p.radius;
            }
          }
          // Caps (only the one facing the ray can be hit first from outside).
          if (dy !== 0) {
            const yc = dy < 0 ? p.y1 : p.y0;
            const t = (yc - oy) / dy;
            if (t > 1e-6 && t < best) {
              const qx = px + t * dx, qz = pz + t * dz;
              if (qx * qx + qz * qz <= p.radius * p.radius) {
                best = t, mat = p.material, oid = p.objectId, nx = 0, ny = dy < 0 ? 1 : -1, nz = 0;
              }
            }
          }
        }
      }
      const hx = ox + best * dx, hy = oy + best * dy, hz = oz + best * dz;
      const anx = Math.abs(nx), any = Math.abs(ny), anz = Math.abs(nz);
      const axis = anx >= any && anx >= anz ? 0 : any >= anz ? 1 : 2;
      albedo(scene.materials[mat], hx, hy, hz, axis, col);
      const l1 = Math.max(0, nx * LIGHT1[0] + ny * LIGHT1[1] + nz * LIGHT1[2]);
      const l2 = Math.max(0, nx * LIGHT2[0] + ny * LIGHT2[1] + nz * LIGHT2[2]);
      const shade = 0.42 + 0.45 * l1 + 0.2 * l2;
      const o = (i * width + j) * 3;
      rgb[o] = toByte(col[0] * shade);
      rgb[o + 1] = toByte(col[1] * shade);
      rgb[o + 2] = toByte(col[2] * shade);
      depth[i * width + j] = best;
      objectId[i * width + j] = oid;
    }
  }
}

function toByte(x: number): number {
  return x <= 0 ? 0 : x >= 1 ? 255 : Math.round(x * 255);
}
