/**
 * Correspondence annotation exactly as the paper's Appendix A (VGGT's recipe), on posed RGB-D frames.
 *
 * 1. Query points: the patch centres of the anchor frame (frame 0) on the token grid (8 × 8 at 224², 24 × 24 at
 *    672², 28-px tokens). "Centre" is the centre of the pixel at (row, col) = (r·s + s/2, c·s + s/2) for token size
 *    s, i.e. (u, v) = (c·s + s/2 + 0.5, r·s + s/2 + 0.5): a pixel centre, where the rendered depth is exact.
 * 2. Back-project: p_w = [R|t]^-1 (D_0(u, v) K^-1 [u, v, 1]^T), D_0 the anchor depth at that pixel.
 * 3. Project into every frame i: p_i = K [R_i|t_i] p_w, giving (u_i, v_i) and D_proj = camera z.
 * 4. Valid in frame i iff (a) in front of the camera (D_proj > 0); (b) inside the image with a 4-px margin:
 *    4 ≤ u_i < W − 4 and 4 ≤ v_i < H − 4; (c) D_map > 0 and |D_proj − D_map| < 0.05 · min(D_proj, D_map), where
 *    D_map is the depth map sampled at the projected location by NEAREST PIXEL: the pixel (floor(v_i), floor(u_i)),
 *    whose centre is nearest to (u_i, v_i) (no interpolation, which would blend depths across occlusion edges).
 * 5. Keep tracks visible in at least 2 frames (the anchor counts), rank by visibility duration (number of frames
 *    where valid; ties broken by a seeded shuffle) and keep the top 50 % (rounded up), listed in grid order.
 * 6. Negatives: per track and frame where visible, the true point moved by a random offset of up to 50 % of the
 *    image extent in each axis (uniform in [−W/2, W/2] × [−H/2, H/2]), clamped into the margin, re-drawn until it
 *    falls in a different token than the correspondence (so it is NOT the match).
 * 7. targetPatch (token of each track in each frame, −1 if not visible) and patchDepth (average-pooled depth of each
 *    token over pixels with depth > 0; Eq 7's d_j^b).
 */
import { backProject, project, type Vec3 } from "../geometry/camera.ts";
import { ConfigError } from "../errors.ts";
import type { Rng } from "../random.ts";
import type { CorrespondenceSequence, Frame, PatchGrid, SceneDescription, Track } from "./types.ts";

/** App. A constants. */
export const BORDER_MARGIN_PX = 4;
export const DEPTH_TOLERANCE = 0.05;
export const MIN_VISIBLE_FRAMES = 2;
export const KEEP_FRACTION = 0.5;
export const NEGATIVE_PERTURBATION = 0.5;
export const WINDOW_RADIUS = 48;

/** Pixels per token side: two 14-px patches merged 2 × 2 (Qwen2.5-VL). */
export const TOKEN_PX = 28;
export const GRID_8: PatchGrid = { rows: 8, cols: 8, patchSize: TOKEN_PX };
export const GRID_24: PatchGrid = { rows: 24, cols: 24, patchSize: TOKEN_PX };

/** Ids and scene description stored with an annotated sequence. */
export interface AnnotateOptions {
  /** Sequence id. */
  id?: string;
  /** Scene id (default: `scene.id`). */
  sceneId?: string;
  /** The scene's description, stored with the sequence. */
  scene?: SceneDescription;
}

/** Query points of the anchor frame: the pixel centre nearest each token centre, row-major. */
export function gridQueryPoints(grid: PatchGrid): [number, number][] {
  const out: [number, number][] = [];
  const h = Math.floor(grid.patchSize / 2) + 0.5;
  for (let r = 0; r < grid.rows; r++) {
    for (let c = 0; c < grid.cols; c++) out.push([c * grid.patchSize + h, r * grid.patchSize + h]);
  }
  return out;
}

/** Depth at (u, v) by nearest pixel (the pixel containing the point); 0 outside the image. */
export function sampleDepthNearest(frame: Frame, u: number, v: number): number {
  const j = Math.floor(u), i = Math.floor(v);
  if (i < 0 || j < 0 || i >= frame.height || j >= frame.width) return 0;
  return frame.depth[i * frame.width + j];
}

/**
 * App. A's validity test of world point `p` in `frame`: returns its pixel position and projected depth when valid,
 * else null (behind the camera, within the 4-px border, no depth, or occluded / inconsistent beyond 5 % of the
 * smaller of the two depths).
 */
export function projectIfVisible(frame: Frame, p: Vec3): { u: number; v: number; z: number } | null {
  const { u, v, z } = project(frame.K, frame.worldToCamera, p);
  if (!(z > 0)) return null;
  const m = BORDER_MARGIN_PX;
  if (!(u >= m && u < frame.width - m && v >= m && v < frame.height - m)) return null;
  const dMap = sampleDepthNearest(frame, u, v);
  if (!(dMap > 0)) return null;
  if (!(Math.abs(z - dMap) < DEPTH_TOLERANCE * Math.min(z, dMap))) return null;
  return { u, v, z };
}

/** Token index (row-major in `grid`) containing pixel position (u, v). */
export function patchIndexOf(grid: PatchGrid, u: number, v: number): number {
  const c = Math.min(grid.cols - 1, Math.max(0, Math.floor(u / grid.patchSize)));
  const r = Math.min(grid.rows - 1, Math.max(0, Math.floor(v / grid.patchSize)));
  return r * grid.cols + c;
}

/** Average-pooled depth of every token over pixels with depth > 0 (0 where none). (P,) */
export function patchDepths(frame: Frame, grid: PatchGrid): Float32Array {
  const out = new Float32Array(grid.rows * grid.cols);
  const s = grid.patchSize;
  for (let r = 0; r < grid.rows; r++) {
    for (let c = 0; c < grid.cols; c++) {
      let sum = 0, n = 0;
      for (let i = r * s; i < (r + 1) * s; i++) {
        for (let j = c * s; j < (c + 1) * s; j++) {
          const d = frame.depth[i * frame.width + j];
          if (d > 0) sum += d, n++;
        }
      }
      out[r * grid.cols + c] = n > 0 ? sum / n : 0;
    }
  }
  return out;
}

/** Keep tracks visible in ≥ 2 frames, then the top 50 % (rounded up) by visibility duration; result in input order. */
export function selectTopTracks(tracks: Track[], rng: Rng): Track[] {
  const count = (t: Track) => t.visible.reduce((n, v) => n + (v ? 1 : 0), 0);
  const valid = tracks.map((t, i) => ({ t, i, n: count(t) })).filter((x) => x.n >= MIN_VISIBLE_FRAMES);
  rng.shuffle(valid); // random tie-break, then a stable sort by duration
  valid.sort((a, b) => b.n - a.n);
  const kept = valid.slice(0, Math.ceil(valid.length * KEEP_FRACTION));
  kept.sort((a, b) => a.i - b.i);
  return kept.map((x) => x.t);
}

/**
 * App. A window sampling (Sec 5.2): anchor t_a uniform in [0, L), then F − 1 distinct other indices uniform in
 * [t_a − R, t_a + R] ∩ [0, L − 1]. Returns [t_a, ...others sorted ascending]; frame 0 of a sequence is the anchor.
 */
export function sampleSequenceFrames(rng: Rng, videoLength: number, F: number, R = WINDOW_RADIUS): number[] {
  if (F < 1 || F > Math.min(videoLength, 2 * R + 1)) {
    throw new ConfigError(
      "sequence sampling",
      `F = ${F} frames cannot be drawn from a window of radius ${R} in a ${videoLength}-frame video`,
    );
  }
  for (;;) {
    const ta = rng.int(videoLength);
    const lo = Math.max(0, ta - R), hi = Math.min(videoLength - 1, ta + R);
    if (hi - lo < F - 1) continue; // window clipped by the video ends: draw another anchor
    const candidates: number[] = [];
    for (let t = lo; t <= hi; t++) if (t !== ta) candidates.push(t);
    rng.shuffle(candidates);
    return [ta, ...candidates.slice(0, F - 1).sort((a, b) => a - b)];
  }
}

/** Annotate one sequence (frame 0 is the anchor) by App. A. `frameIndices` are the frames' indices in the video. */
export function annotateSequence(
  frames: Frame[],
  frameIndices: number[],
  grid: PatchGrid,
  rng: Rng,
  opts: AnnotateOptions = {},
): CorrespondenceSequence {
  const F = frames.length;
  if (F < 1 || frameIndices.length !== F) {
    throw new ConfigError("annotateSequence", `${F} frames but ${frameIndices.length} frame indices`);
  }
  for (const f of frames) {
    if (f.width !== grid.cols * grid.patchSize || f.height !== grid.rows * grid.patchSize) {
      throw new ConfigError(
        "annotateSequence",
        `frame ${f.width}×${f.height} does not match the ${grid.rows}×${grid.cols} grid of ${grid.patchSize}-px tokens`,
      );
    }
  }
  const anchor = frames[0];
  const candidates: Track[] = [];
  for (const [u, v] of gridQueryPoints(grid)) {
    const d = sampleDepthNearest(anchor, u, v);
    if (!(d > 0)) continue;
    const pw = backProject(anchor.K, anchor.worldToCamera, u, v, d);
    const track: Track = { anchorFrame: 0, points: [], visible: [], depths: [] };
    for (const f of frames) {
      const hit = projectIfVisible(f, pw);
      track.points.push(hit ? [hit.u, hit.v] : null);
      track.visible.push(hit !== null);
      track.depths.push(hit ? hit.z : null);
    }
    candidates.push(track);
  }
  const tracks = selectTopTracks(candidates, rng);
  const P = grid.rows * grid.cols;
  const targetPatch = new Int32Array(tracks.length * F).fill(-1);
  const negatives: ([number, number] | null)[][] = [];
  tracks.forEach((t, ti) => {
    const neg: ([number, number] | null)[] = [];
    for (let f = 0; f < F; f++) {
      const p = t.points[f];
      if (!p) {
        neg.push(null);
        continue;
      }
      const patch = patchIndexOf(grid, p[0], p[1]);
      targetPatch[ti * F + f] = patch;
      neg.push(perturb(rng, frames[f], grid, p, patch));
    }
    negatives.push(neg);
  });
  const patchDepth = new Float32Array(F * P);
  frames.forEach((f, k) => patchDepth.set(patchDepths(f, grid), k * P));
  return {
    id: opts.id ?? "",
    sceneId: opts.sceneId ?? opts.scene?.id ?? "",
    frameIndices: [...frameIndices],
    frames,
    grid,
    tracks,
    targetPatch,
    patchDepth,
    negatives,
    ...(opts.scene ? { scene: opts.scene } : {}),
  };
}

/** A negative sample: `p` moved by up to 50 % of the image extent, landing in another token (see step 6). */
function perturb(rng: Rng, frame: Frame, grid: PatchGrid, p: [number, number], patch: number): [number, number] {
  const m = BORDER_MARGIN_PX, W = frame.width, H = frame.height;
  for (let tries = 0; tries < 64; tries++) {
    const u = clamp(p[0] + (rng.next() * 2 - 1) * NEGATIVE_PERTURBATION * W, m, W - m - 1e-6);
    const v = clamp(p[1] + (rng.next() * 2 - 1) * NEGATIVE_PERTURBATION * H, m, H - m - 1e-6);
    if (patchIndexOf(grid, u, v) !== patch) return [u, v];
  }
  // Unreachable in practice (a 50 % move almost always leaves the token): take the next token's centre.
  const q = (patch + 1) % (grid.rows * grid.cols);
  const s = grid.patchSize;
  return [(q % grid.cols) * s + s / 2, Math.floor(q / grid.cols) * s + s / 2];
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
