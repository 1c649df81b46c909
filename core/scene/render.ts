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

/** A shape the ray caster intersects: an axis-aligned box, a sphere or a vertical cylinder, with its material. */
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
  /** Room box extent (metres); the room spans [0, size] on each world axis. */
  roomSize: [number, number, number];
  /** Textures, indexed by `Primitive.material` and `roomMaterials`. */
  materials: Material[];
  /** Material index for the room faces: -x, +x, -y (floor), +y (ceiling), -z, +z. */
  roomMaterials: [number, number, number, number, number, number];
  /** The objects' shapes. */
  primitives: Primitive[];
}

const LIGHT1 = normalized([0.35, 0.85, 0.4]);
const LIGHT2 = normalized([-0.6, 0.3, -0.5]);

function normalized(v: [number, number, number]): [number, number, number] {
  const n = Math.hypot(...v);
  return [v[0] / n, v[1] / n, v[2] / n];
}

/** One frame to render, as the render pool posts it to a worker (core/scene/render_worker.ts). */
export interface RenderJob {
  /** The pool's job id, echoed back with the frame. */
  id: number;
  /** The scene to render. */
  scene: RenderableScene;
  /** The camera path. */
  trajectory: Trajectory;
  /** Which of its poses. */
  frameIndex: number;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
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
  // Per-frame flattened geometry relative to the camera centre (monomorphic loops, no per-ray subtraction).
  const boxes = scene.primitives.filter((p) => p.kind === "box");
  const spheres = scene.primitives.filter((p) => p.kind === "sphere");
  const cylinders = scene.primitives.filter((p) => p.kind === "cylinder");
  const nb = boxes.length, ns = spheres.length, nc = cylinders.length;
  const bLo = new Float64Array(3 * nb),
    bHi = new Float64Array(3 * nb),
    bMat = new Int32Array(nb),
    bId = new Int32Array(nb);
  boxes.forEach((b, k) => {
    bLo[3 * k] = b.min[0] - ox, bLo[3 * k + 1] = b.min[1] - oy, bLo[3 * k + 2] = b.min[2] - oz;
    bHi[3 * k] = b.max[0] - ox, bHi[3 * k + 1] = b.max[1] - oy, bHi[3 * k + 2] = b.max[2] - oz;
    bMat[k] = b.material, bId[k] = b.objectId;
  });
  // Sphere: p = o - centre, c = |p|² - r².
  const sP = new Float64Array(3 * ns), sC = new Float64Array(ns), sR = new Float64Array(ns);
  const sMat = new Int32Array(ns), sId = new Int32Array(ns);
  spheres.forEach((q, k) => {
    const px = ox - q.center[0], py = oy - q.center[1], pz = oz - q.center[2];
    sP[3 * k] = px, sP[3 * k + 1] = py, sP[3 * k + 2] = pz;
    sC[k] = px * px + py * py + pz * pz - q.radius * q.radius,
      sR[k] = q.radius,
      sMat[k] = q.material,
      sId[k] = q.objectId;
  });
  // Cylinder: p = o - axis point (xz), c = |p_xz|² - r², caps y0, y1.
  const cP = new Float64Array(2 * nc), cC = new Float64Array(nc), cR = new Float64Array(nc);
  const cY0 = new Float64Array(nc), cY1 = new Float64Array(nc), cMat = new Int32Array(nc), cId = new Int32Array(nc);
  cylinders.forEach((q, k) => {
    const px = ox - q.center[0], pz = oz - q.center[2];
    cP[2 * k] = px, cP[2 * k + 1] = pz, cC[k] = px * px + pz * pz - q.radius * q.radius, cR[k] = q.radius;
    cY0[k] = q.y0, cY1[k] = q.y1, cMat[k] = q.material, cId[k] = q.objectId;
  });
  const col = new Float64Array(3);
  for (let i = 0; i < height; i++) {
    const yc = (i + 0.5 - cy) / fy;
    for (let j = 0; j < width; j++) {
      const xc = (j + 0.5 - cx) / fx;
      // World direction R^T [xc, yc, 1]; the hit parameter t equals camera z.
      const dx = R[0][0] * xc + R[1][0] * yc + R[2][0];
      const dy = R[0][1] * xc + R[1][1] * yc + R[2][1];
      const dz = R[0][2] * xc + R[1][2] * yc + R[2][2];
      const ix = 1 / dx, iy = 1 / dy, iz = 1 / dz;
      // Room: exit through the nearest face from inside.
      let best = Infinity, nx = 0, ny = 0, nz = 0, mat = 0, oid = 0;
      {
        const tx = dx > 0 ? (sx - ox) * ix : dx < 0 ? -ox * ix : Infinity;
        const ty = dy > 0 ? (sy - oy) * iy : dy < 0 ? -oy * iy : Infinity;
        const tz = dz > 0 ? (sz - oz) * iz : dz < 0 ? -oz * iz : Infinity;
        if (tx <= ty && tx <= tz) {
          best = tx, nx = dx > 0 ? -1 : 1, mat = scene.roomMaterials[dx > 0 ? 1 : 0];
        } else if (ty <= tz) {
          best = ty, ny = dy > 0 ? -1 : 1, mat = scene.roomMaterials[dy > 0 ? 3 : 2];
        } else best = tz, nz = dz > 0 ? -1 : 1, mat = scene.roomMaterials[dz > 0 ? 5 : 4];
      }
      // Boxes (slab test; the entering axis gives the normal, facing the ray).
      for (let k = 0; k < nb; k++) {
        let ta = bLo[3 * k] * ix, tb = bHi[3 * k] * ix;
        let t0 = ta < tb ? ta : tb, t1 = ta < tb ? tb : ta, ax = 0;
        ta = bLo[3 * k + 1] * iy, tb = bHi[3 * k + 1] * iy;
        let e = ta < tb ? ta : tb, x = ta < tb ? tb : ta;
        if (e > t0) t0 = e, ax = 1;
        if (x < t1) t1 = x;
        ta = bLo[3 * k + 2] * iz, tb = bHi[3 * k + 2] * iz;
        e = ta < tb ? ta : tb, x = ta < tb ? tb : ta;
        if (e > t0) t0 = e, ax = 2;
        if (x < t1) t1 = x;
        if (t0 <= t1 && t0 > 1e-6 && t0 < best) {
          best = t0, mat = bMat[k], oid = bId[k];
          nx = ax === 0 ? (dx > 0 ? -1 : 1) : 0,
            ny = ax === 1 ? (dy > 0 ? -1 : 1) : 0,
            nz = ax === 2 ? (dz > 0 ? -1 : 1) : 0;
        }
      }
      if (ns > 0) {
        const a = dx * dx + dy * dy + dz * dz;
        for (let k = 0; k < ns; k++) {
          const px = sP[3 * k], py = sP[3 * k + 1], pz = sP[3 * k + 2];
          const b = px * dx + py * dy + pz * dz;
          const disc = b * b - a * sC[k];
          if (disc < 0 || b > 0) continue;
          const t = (-b - Math.sqrt(disc)) / a;
          if (t > 1e-6 && t < best) {
            const r = sR[k];
            best = t, mat = sMat[k], oid = sId[k];
            nx = (px + t * dx) / r, ny = (py + t * dy) / r, nz = (pz + t * dz) / r;
          }
        }
      }
      for (let k = 0; k < nc; k++) {
        const px = cP[2 * k], pz = cP[2 * k + 1], r = cR[k];
        const a = dx * dx + dz * dz, b = px * dx + pz * dz;
        const disc = b * b - a * cC[k];
        if (disc < 0) continue;
        if (a > 0) {
          const t = (-b - Math.sqrt(disc)) / a;
          const y = oy + t * dy;
          if (t > 1e-6 && t < best && y >= cY0[k] && y <= cY1[k]) {
            best = t, mat = cMat[k], oid = cId[k];
            nx = (px + t * dx) / r, ny = 0, nz = (pz + t * dz) / r;
          }
        }
        // Caps (only the one facing the ray can be hit first from outside).
        if (dy !== 0) {
          const t = ((dy < 0 ? cY1[k] : cY0[k]) - oy) * iy;
          if (t > 1e-6 && t < best) {
            const qx = px + t * dx, qz = pz + t * dz;
            if (qx * qx + qz * qz <= r * r) best = t, mat = cMat[k], oid = cId[k], nx = 0, ny = dy < 0 ? 1 : -1, nz = 0;
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
