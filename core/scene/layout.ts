/**
 * Procedural indoor layouts: a room box with textured walls/floor/ceiling, furniture and coloured objects, and the
 * hard cases the paper calls out (Sec 4.2): repeated textures (tiled floor, checker/stripe objects), duplicated
 * identical objects, and a foreground object in front of a similar background one (same colour, pattern and
 * material, larger and farther along the line of sight of the mean camera position).
 *
 * World: metres, y up; the room spans [0, sx] × [0, sy] × [0, sz]. Objects stand in a central disk that the camera
 * never enters; tall cabinets stand in the corners and posters hang on the walls.
 */
import type { Rng } from "../random.ts";
import type { SceneObject } from "./types.ts";
import type { Primitive } from "./render.ts";
import { type Material, PALETTE, type Pattern } from "./texture.ts";
import type { TrajectoryBounds } from "./trajectory.ts";

type V3 = [number, number, number];

export interface Layout {
  roomSize: V3;
  materials: Material[];
  roomMaterials: [number, number, number, number, number, number];
  primitives: Primitive[];
  objects: SceneObject[];
  bounds: TrajectoryBounds;
}

const DISTINCT: Pattern[] = ["noise", "blotches"];
const PERIODIC: Pattern[] = ["checker", "stripes", "tiles"];

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

function shadeOf(c: V3, f: number): V3 {
  return [c[0] * f, c[1] * f, c[2] * f];
}

/** A texture in a random hue (for walls) that keeps patches locally distinct. */
function roomMaterial(rng: Rng, pattern: Pattern, scale: number): Material {
  const base: V3 = [rng.uniform(0.35, 0.9), rng.uniform(0.35, 0.9), rng.uniform(0.35, 0.9)];
  const other: V3 = [rng.uniform(0.1, 0.6), rng.uniform(0.1, 0.6), rng.uniform(0.1, 0.6)];
  return { color: base, color2: other, pattern, scale, seed: rng.u32() | 0, origin: [0.013, 0.017, 0.011] };
}

/**
 * Build the layout. `fgBgDirection` (unit xz vector from the room centre toward the mean camera position) places the
 * foreground/background pair on the line of sight; pass it from the trajectory.
 */
export function buildLayout(
  rng: Rng,
  roomSize: V3,
  objectCount: number,
  fgBgDirection: [number, number] | null,
): Layout {
  const [sx, , sz] = roomSize;
  const bounds = layoutBounds(roomSize);
  const { center, objectRadius } = bounds;
  const materials: Material[] = [];
  const addMat = (m: Material) => (materials.push(m), materials.length - 1);
  // Walls: distinct noise or blotches (some scenes get a striped wall: repeated texture).
  const wall = () =>
    addMat(roomMaterial(rng, rng.next() < 0.2 ? "stripes" : pick(rng, DISTINCT), rng.uniform(0.3, 0.8)));
  const floor = addMat(
    roomMaterial(rng, rng.next() < 0.7 ? pick(rng, ["tiles", "checker"] as Pattern[]) : "noise", 0.5),
  );
  const ceiling = addMat(roomMaterial(rng, "noise", 0.9));
  const roomMaterials: Layout["roomMaterials"] = [wall(), wall(), floor, ceiling, wall(), wall()];

  const primitives: Primitive[] = [];
  const objects: SceneObject[] = [];
  const footprints: { x: number; z: number; r: number }[] = [];
  const free = (x: number, z: number, r: number) =>
    footprints.every((f) => Math.hypot(f.x - x, f.z - z) > f.r + r + 0.08) &&
    Math.hypot(x - center[0], z - center[2]) + r <= objectRadius;
  const objectMaterial = (color: V3, pattern: Pattern, origin: V3): Material => ({
    color,
    color2: shadeOf(color, rng.uniform(0.35, 0.6)),
    pattern,
    scale: pattern === "noise" || pattern === "blotches" ? rng.uniform(0.1, 0.25) : rng.uniform(0.06, 0.12),
    seed: rng.u32() | 0,
    origin,
  });

  /** Add one object of `shape` standing on the floor at (x, z) with half-width w and height h. */
  const place = (
    shape: string,
    name: string,
    colorName: string,
    mat: number,
    x: number,
    z: number,
    w: number,
    h: number,
  ) => {
    const id = objects.length + 1;
    if (shape === "box") {
      primitives.push({ kind: "box", objectId: id, material: mat, min: [x - w, 0, z - w], max: [x + w, h, z + w] });
    } else if (shape === "sphere") {
      primitives.push({ kind: "sphere", objectId: id, material: mat, center: [x, w, z], radius: w });
    } else if (shape === "cylinder") {
      primitives.push({ kind: "cylinder", objectId: id, material: mat, center: [x, 0, z], radius: w, y0: 0, y1: h });
    } else { // table: top and four legs
      const top = 0.05, leg = 0.04;
      primitives.push({
        kind: "box",
        objectId: id,
        material: mat,
        min: [x - w, h - top, z - w * 0.7],
        max: [x + w, h, z + w * 0.7],
      });
      for (const [lx, lz] of [[-1, -1], [1, -1], [-1, 1], [1, 1]]) {
        const px = x + lx * (w - 0.08), pz = z + lz * (w * 0.7 - 0.08);
        primitives.push({
          kind: "box",
          objectId: id,
          material: mat,
          min: [px - leg, 0, pz - leg],
          max: [px + leg, h - top, pz + leg],
        });
      }
    }
    const height = shape === "sphere" ? 2 * w : h;
    const depthExtent = shape === "table" ? 1.4 * w : 2 * w;
    objects.push({ id, shape, name, color: colorName, center: [x, height / 2, z], size: [2 * w, height, depthExtent] });
    footprints.push({ x, z, r: w * 1.42 });
  };
  const spot = (r: number): [number, number] | null => {
    for (let tries = 0; tries < 60; tries++) {
      const a = rng.uniform(0, 2 * Math.PI), d = Math.sqrt(rng.next()) * (objectRadius - r);
      const x = center[0] + d * Math.cos(a), z = center[2] + d * Math.sin(a);
      if (free(x, z, r)) return [x, z];
    }
    return null;
  };
  const shapes = ["box", "sphere", "cylinder"];
  const sizeOf = () => ({ w: rng.uniform(0.15, 0.35), h: rng.uniform(0.3, 0.9) });

  // Hard case 1: a foreground object in front of a similar (same colour/pattern, larger) background one.
  if (fgBgDirection) {
    const c = pick(rng, PALETTE), shape = pick(rng, shapes), { w, h } = sizeOf();
    const mat = addMat(objectMaterial(c.rgb, pick(rng, DISTINCT), [0, 0, 0]));
    const [ux, uz] = fgBgDirection;
    const fx = center[0] + ux * objectRadius * 0.35, fz = center[2] + uz * objectRadius * 0.35;
    const back = objectRadius - 2.2 * w; // the larger twin's footprint (radius 1.5 · 1.42 w) stays in the disk
    const bx = center[0] - ux * back, bz = center[2] - uz * back;
    if (free(fx, fz, w * 1.42)) place(shape, `small ${c.name} ${shape}`, c.name, mat, fx, fz, w, h);
    if (free(bx, bz, w * 1.42 * 1.5)) place(shape, `large ${c.name} ${shape}`, c.name, mat, bx, bz, w * 1.5, h * 1.5);
  }
  // Hard case 2: two or three identical copies (same shape, size, material with origin at each copy's centre).
  {
    const c = pick(rng, PALETTE), shape = pick(rng, shapes), { w, h } = sizeOf();
    const pattern = rng.next() < 0.5 ? pick(rng, PERIODIC) : pick(rng, DISTINCT);
    const copies = 2 + rng.int(2);
    const proto = objectMaterial(c.rgb, pattern, [0, 0, 0]);
    for (let k = 0; k < copies; k++) {
      const at = spot(w * 1.42);
      if (!at) continue;
      const y = shape === "sphere" ? w : 0;
      const mat = addMat({ ...proto, origin: [at[0], y, at[1]] });
      place(shape, `${c.name} ${shape}`, c.name, mat, at[0], at[1], w, h);
    }
  }
  // A table, then ordinary coloured objects (some with periodic textures: repeated-texture hard case).
  {
    const w = rng.uniform(0.45, 0.65), at = spot(w * 1.3);
    if (at) {
      place(
        "table",
        "table",
        "brown",
        addMat(objectMaterial(PALETTE[9].rgb, "noise", [0, 0, 0])),
        at[0],
        at[1],
        w,
        0.75,
      );
    }
  }
  while (objects.length < objectCount) {
    const c = pick(rng, PALETTE), shape = pick(rng, shapes), { w, h } = sizeOf();
    const at = spot(w * 1.42);
    if (!at) break;
    const pattern = rng.next() < 0.25 ? pick(rng, PERIODIC) : pick(rng, DISTINCT);
    place(
      shape,
      `${c.name} ${shape}`,
      c.name,
      addMat(objectMaterial(c.rgb, pattern, [at[0], 0, at[1]])),
      at[0],
      at[1],
      w,
      h,
    );
  }
  // Corner cabinets and wall posters (outside the camera annulus).
  for (const [cx, cz] of [[0.45, 0.45], [sx - 0.45, sz - 0.45]]) {
    if (rng.next() < 0.5) continue;
    const mat = addMat(roomMaterial(rng, "noise", 0.2));
    const id = objects.length + 1, hgt = rng.uniform(1.4, 2.0);
    primitives.push({
      kind: "box",
      objectId: id,
      material: mat,
      min: [cx - 0.35, 0, cz - 0.35],
      max: [cx + 0.35, hgt, cz + 0.35],
    });
    objects.push({
      id,
      shape: "box",
      name: "cabinet",
      color: "mixed",
      center: [cx, hgt / 2, cz],
      size: [0.7, hgt, 0.7],
    });
  }
  for (let k = 0; k < 2; k++) {
    const c = pick(rng, PALETTE), id = objects.length + 1, mat = addMat(objectMaterial(c.rgb, "blotches", [0, 0, 0]));
    const w = rng.uniform(0.4, 0.8), hh = rng.uniform(0.3, 0.5), y = rng.uniform(1.2, 1.9);
    const onX = k === 0, pos = onX ? rng.uniform(1.5, sz - 1.5) : rng.uniform(1.5, sx - 1.5);
    const min: V3 = onX ? [0, y - hh, pos - w] : [pos - w, y - hh, sz - 0.02];
    const max: V3 = onX ? [0.02, y + hh, pos + w] : [pos + w, y + hh, sz];
    primitives.push({ kind: "box", objectId: id, material: mat, min, max });
    objects.push({
      id,
      shape: "plane",
      name: `${c.name} poster`,
      color: c.name,
      center: [(min[0] + max[0]) / 2, y, (min[2] + max[2]) / 2],
      size: [max[0] - min[0], 2 * hh, max[2] - min[2]],
    });
  }
  return { roomSize, materials, roomMaterials, primitives, objects, bounds };
}

/** A random room size (metres): 7-10 m wide and deep, 2.7-3.2 m high. */
export function randomRoomSize(rng: Rng): V3 {
  return [rng.uniform(7, 10), rng.uniform(2.7, 3.2), rng.uniform(7, 10)];
}

/** Object disk and camera annulus of a room: objects within 1.9 m of the walls' inscribed circle stay clear. */
export function layoutBounds(roomSize: V3): TrajectoryBounds {
  const half = Math.min(roomSize[0], roomSize[2]) / 2;
  return { center: [roomSize[0] / 2, 0, roomSize[2] / 2], objectRadius: half - 1.9, maxRadius: half - 0.35 };
}
