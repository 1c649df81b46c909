/**
 * Procedural solid textures for the synthetic scenes. A texture is a pure function of the surface point in the
 * material's own frame (point - origin), so it is view-independent (correspondences are learnable) and two objects
 * that share a material with origins at their own centres look identical (the duplicated-object hard case).
 *
 * Noise is 2-D in the two in-plane world axes of the surface (its normal's dominant axis dropped): half the cost of
 * 3-D noise; curved surfaces show a seam where the dominant axis changes, which is view-independent like the rest.
 *
 * Patterns: "noise" (multi-scale value noise: every patch locally distinct), "blotches" (two tones split by noise),
 * "checker", "stripes" and "tiles" (periodic: the repeated-texture hard case; only a faint noise breaks symmetry).
 */

/** A procedural texture pattern. */
export type Pattern = "noise" | "blotches" | "checker" | "stripes" | "tiles";

/** A procedural texture: two tones, a pattern, its scale and seed (view-independent: the same in every frame). */
export interface Material {
  /** Base colour, linear 0..1 RGB. */
  color: [number, number, number];
  /** Second tone (used by blotches/checker/stripes/tiles and as the low end of noise). */
  color2: [number, number, number];
  /** Which pattern mixes the two tones. */
  pattern: Pattern;
  /** Feature size of the pattern in metres. */
  scale: number;
  /** Noise seed (u32). */
  seed: number;
  /** Texture origin in world coordinates (an object's centre, so duplicates look identical). */
  origin: [number, number, number];
}

/** Named colours (sRGB 0..1) used for objects; the name goes into SceneObject.color for QA. */
export const PALETTE: { name: string; rgb: [number, number, number] }[] = [
  { name: "red", rgb: [0.85, 0.12, 0.1] },
  { name: "green", rgb: [0.15, 0.7, 0.2] },
  { name: "blue", rgb: [0.12, 0.25, 0.85] },
  { name: "yellow", rgb: [0.95, 0.85, 0.1] },
  { name: "orange", rgb: [0.95, 0.5, 0.08] },
  { name: "purple", rgb: [0.55, 0.15, 0.75] },
  { name: "cyan", rgb: [0.1, 0.8, 0.85] },
  { name: "pink", rgb: [0.95, 0.45, 0.7] },
  { name: "white", rgb: [0.92, 0.92, 0.9] },
  { name: "brown", rgb: [0.5, 0.3, 0.12] },
];

function hash2(x: number, y: number, seed: number): number {
  let h = Math.imul(x, 0x27d4eb2d) ^ Math.imul(y, 0x165667b1) ^ seed;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/** Bilinear value noise in [0, 1) with smoothstep interpolation (half the cost of the 3-D one). */
export function valueNoise2(x: number, y: number, seed: number): number {
  const xi = Math.floor(x), yi = Math.floor(y);
  const xf = x - xi, yf = y - yi;
  const u = xf * xf * (3 - 2 * xf), v = yf * yf * (3 - 2 * yf);
  const c00 = hash2(xi, yi, seed), c10 = hash2(xi + 1, yi, seed);
  const c01 = hash2(xi, yi + 1, seed), c11 = hash2(xi + 1, yi + 1, seed);
  const a = c00 + (c10 - c00) * u, b = c01 + (c11 - c01) * u;
  return a + (b - a) * v;
}

/** Fractal sum of 2-D value noise, like fbm. */
export function fbm2(x: number, y: number, seed: number, octaves: number): number {
  let sum = 0, amp = 0.5, norm = 0, f = 1;
  for (let o = 0; o < octaves; o++) {
    sum += amp * valueNoise2(x * f + o * 17.31, y * f - o * 11.77, (seed + Math.imul(o, 0x632be5ab)) | 0);
    norm += amp;
    amp *= 0.5;
    f *= 2.03;
  }
  return sum / norm;
}

/**
 * Albedo of `m` at world point p, written into out[0..2] (0..1). `normalAxis` (0, 1, 2: the surface normal's dominant
 * world axis) lets the periodic patterns use the two in-plane axes, so a wall's checker is a checker, not a stripe.
 */
export function albedo(
  m: Material,
  px: number,
  py: number,
  pz: number,
  normalAxis: number,
  out: Float64Array,
): void {
  const x = (px - m.origin[0]) / m.scale, y = (py - m.origin[1]) / m.scale, z = (pz - m.origin[2]) / m.scale;
  // In-plane coordinates (a, b) for the periodic patterns.
  const a = normalAxis === 0 ? z : x, b = normalAxis === 1 ? z : y;
  let t: number; // mix factor between color2 (0) and color (1)
  let detail: number; // brightness modulation around 1
  switch (m.pattern) {
    case "noise": {
      t = fbm2(a, b, m.seed, 3);
      t = Math.min(1, Math.max(0, (t - 0.5) * 2.2 + 0.5));
      detail = 0.8 + 0.4 * valueNoise2(a * 6.1, b * 6.1, m.seed ^ 0x5bd1e995);
      break;
    }
    case "blotches": {
      const n = fbm2(a, b, m.seed, 3);
      t = n > 0.5 ? 1 : 0;
      detail = 0.75 + 0.5 * valueNoise2(a * 4, b * 4, m.seed ^ 0x1b873593);
      break;
    }
    case "checker": {
      t = (Math.floor(a) + Math.floor(b)) & 1;
      detail = 0.95 + 0.1 * valueNoise2(a * 3, b * 3, m.seed);
      break;
    }
    case "stripes": {
      t = Math.sin((a + 0.5 * b) * Math.PI) > 0 ? 1 : 0;
      detail = 0.95 + 0.1 * valueNoise2(a * 3, b * 3, m.seed);
      break;
    }
    default: { // tiles: squares of period 1 with dark grout lines
      const ga = a - Math.floor(a), gb = b - Math.floor(b);
      t = Math.min(ga, 1 - ga, gb, 1 - gb) < 0.04 ? 0 : 1;
      detail = 0.93 + 0.14 * valueNoise2(a * 2, b * 2, m.seed);
    }
  }
  out[0] = (m.color2[0] + (m.color[0] - m.color2[0]) * t) * detail;
  out[1] = (m.color2[1] + (m.color[1] - m.color2[1]) * t) * detail;
  out[2] = (m.color2[2] + (m.color[2] - m.color2[2]) * t) * detail;
}
