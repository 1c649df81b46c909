/**
 * Test fixture (not a test): small posed RGB-D sequences built straight from core/scene/types.ts, so the analysis
 * can be tested before and independently of the scene renderer/annotator. A box room with a sphere in it, a camera
 * orbiting the room centre by `degreesPerFrame` per source-video frame, depth ray-cast analytically, tracks at patch
 * centres (optionally jittered inside the patch) annotated with App. A's projection + depth-consistency recipe.
 */
import { Rng } from "../../../core/random.ts";
import type { CorrespondenceSequence, Frame, Mat3, Mat34, Track } from "../../../core/scene/types.ts";

type V3 = [number, number, number];

export interface SyntheticOptions {
  seed: number;
  frames?: number;
  rows?: number;
  cols?: number;
  patchSize?: number;
  /** Max gap between consecutive source-video frame indices (uniform in 1…maxStep). */
  maxStep?: number;
  degreesPerFrame?: number;
  /** Jitter of the track points inside their frame-0 patch, as a fraction of the patch (0 = exact centres). */
  jitter?: number;
}

const ROOM: V3 = [6, 3, 6];

export function syntheticSequence(o: SyntheticOptions): CorrespondenceSequence {
  const rng = new Rng(o.seed);
  const F = o.frames ?? 8;
  const rows = o.rows ?? 8;
  const cols = o.cols ?? 8;
  const ps = o.patchSize ?? 28;
  const W = cols * ps;
  const H = rows * ps;
  const maxStep = o.maxStep ?? 3;
  const degPerFrame = o.degreesPerFrame ?? 1.5;
  const jitter = o.jitter ?? 0;
  const sphere = {
    c: [rng.uniform(2.5, 3.5), rng.uniform(0.6, 1.4), rng.uniform(2.5, 3.5)] as V3,
    r: rng.uniform(0.4, 0.7),
  };
  const target: V3 = [3, 1.2, 3];
  const radius = rng.uniform(1.8, 2.4);
  const phase = rng.uniform(0, 2 * Math.PI);
  const f = W * 0.9;
  const K: Mat3 = [[f, 0, W / 2], [0, f, H / 2], [0, 0, 1]];

  const frameIndices = [0];
  for (let i = 1; i < F; i++) frameIndices.push(frameIndices[i - 1] + 1 + rng.int(maxStep));
  const frames: Frame[] = frameIndices.map((fi) => {
    const a = phase + (fi * degPerFrame * Math.PI) / 180;
    const cam: V3 = [3 + radius * Math.cos(a), 1.4 + 0.1 * Math.sin(fi * 0.2), 3 + radius * Math.sin(a)];
    const worldToCamera = lookAt(cam, target);
    const depth = new Float32Array(W * H);
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) depth[i * W + j] = castDepth(K, worldToCamera, j + 0.5, i + 0.5, sphere);
    }
    return { width: W, height: H, K, worldToCamera, rgb: new Uint8Array(W * H * 3), depth };
  });

  const tracks: Track[] = [];
  const P = rows * cols;
  const targetPatch: number[] = [];
  for (let p = 0; p < P; p++) {
    const u0 = ((p % cols) + 0.5 + jitter * (rng.next() - 0.5)) * ps;
    const v0 = (Math.floor(p / cols) + 0.5 + jitter * (rng.next() - 0.5)) * ps;
    const z0 = castDepth(K, frames[0].worldToCamera, u0, v0, sphere);
    const pw = unproject(K, frames[0].worldToCamera, u0, v0, z0);
    const track: Track = { anchorFrame: 0, points: [], visible: [], depths: [] };
    for (let k = 0; k < F; k++) {
      const [u, v, z] = project(K, frames[k].worldToCamera, pw);
      const inside = z > 0 && u >= 4 && u < W - 4 && v >= 4 && v < H - 4;
      const dMap = inside ? frames[k].depth[Math.floor(v) * W + Math.floor(u)] : 0;
      const ok = inside && dMap > 0 && Math.abs(z - dMap) < 0.05 * Math.min(z, dMap);
      track.points.push(ok ? [u, v] : null);
      track.visible.push(ok);
      track.depths.push(ok ? z : null);
      targetPatch.push(ok ? Math.floor(v / ps) * cols + Math.floor(u / ps) : -1);
    }
    tracks.push(track);
  }
  const patchDepth = new Float32Array(F * P);
  for (let k = 0; k < F; k++) {
    for (let p = 0; p < P; p++) {
      let s = 0;
      let n = 0;
      const r0 = Math.floor(p / cols) * ps;
      const c0 = (p % cols) * ps;
      for (let i = r0; i < r0 + ps; i++) {
        for (let j = c0; j < c0 + ps; j++) {
          const d = frames[k].depth[i * W + j];
          if (d > 0) {
            s += d;
            n++;
          }
        }
      }
      patchDepth[k * P + p] = n ? s / n : 0;
    }
  }
  return {
    id: `synthetic-${o.seed}`,
    sceneId: `room-${o.seed}`,
    frameIndices,
    frames,
    grid: { rows, cols, patchSize: ps },
    tracks,
    targetPatch: Int32Array.from(targetPatch),
    patchDepth,
    negatives: tracks.map(() => new Array(F).fill(null)),
  };
}

export function* syntheticSequences(n: number, base: Omit<SyntheticOptions, "seed"> & { seed?: number } = {}) {
  for (let i = 0; i < n; i++) yield syntheticSequence({ ...base, seed: (base.seed ?? 1000) + i });
}

function lookAt(c: V3, t: V3): Mat34 {
  const z = norm(sub(t, c));
  const x = norm(cross([0, -1, 0], z));
  const y = cross(z, x);
  const R = [x, y, z];
  const tr = R.map((r) => -(r[0] * c[0] + r[1] * c[1] + r[2] * c[2]));
  return [[...x, tr[0]], [...y, tr[1]], [...z, tr[2]]] as Mat34;
}

function rayWorld(K: Mat3, E: Mat34, u: number, v: number): { o: V3; d: V3 } {
  const dc: V3 = [(u - K[0][2]) / K[0][0], (v - K[1][2]) / K[1][1], 1];
  // world = Rᵀ(cam − t); the ray direction keeps camera z = 1 per unit of the ray parameter.
  const d: V3 = [0, 1, 2].map((i) => E[0][i] * dc[0] + E[1][i] * dc[1] + E[2][i] * dc[2]) as V3;
  const o: V3 = [0, 1, 2].map((i) => -(E[0][i] * E[0][3] + E[1][i] * E[1][3] + E[2][i] * E[2][3])) as V3;
  return { o, d };
}

/** Camera z of the first surface hit through pixel position (u, v). */
function castDepth(K: Mat3, E: Mat34, u: number, v: number, s: { c: V3; r: number }): number {
  const { o, d } = rayWorld(K, E, u, v);
  let t = Infinity;
  for (let a = 0; a < 3; a++) {
    if (d[a] > 0) t = Math.min(t, (ROOM[a] - o[a]) / d[a]);
    else if (d[a] < 0) t = Math.min(t, -o[a] / d[a]);
  }
  const oc = sub(o, s.c);
  const A = dot(d, d);
  const B = 2 * dot(oc, d);
  const C = dot(oc, oc) - s.r * s.r;
  const disc = B * B - 4 * A * C;
  if (disc >= 0) {
    const ts = (-B - Math.sqrt(disc)) / (2 * A);
    if (ts > 0) t = Math.min(t, ts);
  }
  return t; // the ray parameter is camera z because the camera-space direction has z = 1
}

function unproject(K: Mat3, E: Mat34, u: number, v: number, z: number): V3 {
  const { o, d } = rayWorld(K, E, u, v);
  return [o[0] + z * d[0], o[1] + z * d[1], o[2] + z * d[2]];
}

function project(K: Mat3, E: Mat34, p: V3): V3 {
  const c = [0, 1, 2].map((i) => E[i][0] * p[0] + E[i][1] * p[1] + E[i][2] * p[2] + E[i][3]);
  return [K[0][0] * c[0] / c[2] + K[0][2], K[1][1] * c[1] / c[2] + K[1][2], c[2]];
}

const sub = (a: V3, b: V3): V3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const dot = (a: V3, b: V3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: V3, b: V3): V3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const norm = (a: V3): V3 => {
  const n = Math.hypot(...a);
  return [a[0] / n, a[1] / n, a[2] / n];
};
