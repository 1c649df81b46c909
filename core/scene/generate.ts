/**
 * Synthetic posed RGB-D scenes: `generateScene(seed)` draws a room, objects (with the paper's hard cases) and a
 * camera trajectory; `renderVideo` ray-casts frames of that trajectory on Web Workers (2 by default).
 *
 * The same seed always gives the same scene and the same pixels, whatever the number of workers.
 */
import { Rng } from "../random.ts";
import type { Frame, SceneDescription } from "./types.ts";
import { buildLayout, layoutBounds, randomRoomSize } from "./layout.ts";
import { type Primitive, type RenderableScene, renderFrame, type RenderJob } from "./render.ts";
import type { Material } from "./texture.ts";
import { meanEye, randomTrajectory, type Trajectory, TRAJECTORY_KINDS, type TrajectoryKind } from "./trajectory.ts";

export type { Trajectory, TrajectoryKind };

/** Overrides of what {@linkcode generateScene} draws from its seed. */
export interface GenerateSceneOptions {
  /** Frames in the video; 96 so that sequences with the full App. A window (R = 48) around the anchor exist. */
  videoLength?: number;
  /** Trajectory kind; default drawn from the seed (orbit, walk, forward, rotation). */
  trajectory?: TrajectoryKind;
  /** Target number of objects in the central area (hard-case objects included); default 7-10 from the seed. */
  objectCount?: number;
  /** Vertical field of view in degrees; 60 by default. */
  fovYDeg?: number;
  /** Scene id; default `scene-<seed>`. */
  id?: string;
}

/** A scene: its description (for QA) plus everything the renderer needs and the default camera trajectory. */
export interface GeneratedScene extends SceneDescription, RenderableScene {
  /** Room box extent (metres). */
  roomSize: [number, number, number];
  /** The textures, indexed by primitives and room faces. */
  materials: Material[];
  /** Material index per room face: -x, +x, -y, +y, -z, +z. */
  roomMaterials: [number, number, number, number, number, number];
  /** The shapes the renderer intersects. */
  primitives: Primitive[];
  /** The default camera path of the scene's video. */
  trajectory: Trajectory;
}

/**
 * A procedural indoor scene from a seed: room, textured objects (with look-alike hard cases) and a hand-held camera
 * path. Deterministic in `seed` and `opts`.
 *
 * @example Render 8 posed RGB-D frames and annotate them by App. A
 * ```ts
 * import { annotateSequence, describeScene, generateScene, renderVideo, Rng } from "@gasp/gasp-ts";
 * const scene = generateScene(7);
 * const frames = await renderVideo(scene, scene.trajectory, { width: 224, height: 224, frames: 8 });
 * const grid = { rows: 8, cols: 8, patchSize: 28 };
 * const seq = annotateSequence(frames, [0, 1, 2, 3, 4, 5, 6, 7], grid, new Rng(0), { scene: describeScene(scene) });
 * console.log(seq.tracks.length, "tracks");
 * ```
 */
export function generateScene(seed: number, opts: GenerateSceneOptions = {}): GeneratedScene {
  const rng = new Rng(seed);
  const kind = opts.trajectory ?? TRAJECTORY_KINDS[rng.int(TRAJECTORY_KINDS.length)];
  const roomSize = randomRoomSize(rng);
  const bounds = layoutBounds(roomSize);
  const trajectory = randomTrajectory(rng, kind, bounds, opts.videoLength ?? 96, opts.fovYDeg ?? 60);
  const eye = meanEye(trajectory);
  const dx = eye[0] - bounds.center[0], dz = eye[2] - bounds.center[2], n = Math.hypot(dx, dz);
  const layout = buildLayout(rng, roomSize, opts.objectCount ?? 7 + rng.int(4), n > 1e-6 ? [dx / n, dz / n] : [1, 0]);
  return {
    id: opts.id ?? `scene-${seed >>> 0}`,
    seed,
    roomSize,
    up: [0, 1, 0],
    objects: layout.objects,
    materials: layout.materials,
    roomMaterials: layout.roomMaterials,
    primitives: layout.primitives,
    trajectory,
  };
}

/** Just the SceneDescription part (what shards store and QA reads). */
export function describeScene(scene: GeneratedScene): SceneDescription {
  return { id: scene.id, seed: scene.seed, roomSize: scene.roomSize, up: scene.up, objects: scene.objects };
}

/** Frame size, which frames, and how many workers {@linkcode renderVideo} uses. */
export interface RenderVideoOptions {
  /** Frame width in pixels. */
  width: number;
  /** Frame height in pixels. */
  height: number;
  /** A count n renders frames 0 … n-1; an array renders exactly those frame indices (in that order). */
  frames: number | number[];
  /** Web Workers to use (default 2); 0 renders on the calling thread. Ignored when `pool` is given. */
  workers?: number;
  /** A long-lived pool to reuse across calls (avoids starting workers per video). */
  pool?: RenderPool;
}

/** Worker pool for rendering frames; one frame per job, results in submission order. */
export class RenderPool {
  #workers: Worker[] = [];
  #idle: Worker[] = [];
  #queue: { job: RenderJob; resolve: (f: Frame) => void; reject: (e: Error) => void }[] = [];
  #pending = new Map<number, { resolve: (f: Frame) => void; reject: (e: Error) => void; worker: Worker }>();
  #nextId = 0;

  /** Starts `size` module Workers running core/scene/render_worker.ts. */
  constructor(readonly size = 2) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL("./render_worker.ts", import.meta.url).href, { type: "module" });
      w.onmessage = (e: MessageEvent<{ id: number; frame?: Frame; error?: string }>) => {
        const p = this.#pending.get(e.data.id);
        if (!p) return;
        this.#pending.delete(e.data.id);
        if (e.data.frame) p.resolve(e.data.frame);
        else p.reject(new Error(`render worker failed: ${e.data.error}`));
        this.#idle.push(w);
        this.#pump();
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        for (const [id, p] of this.#pending) {
          if (p.worker === w) {
            this.#pending.delete(id);
            p.reject(new Error(`render worker crashed: ${e.message}`));
          }
        }
      };
      this.#workers.push(w);
      this.#idle.push(w);
    }
  }

  /** Renders one frame on the next idle worker. */
  render(
    scene: RenderableScene,
    trajectory: Trajectory,
    frameIndex: number,
    width: number,
    height: number,
  ): Promise<Frame> {
    // Send only what the renderer needs (not the QA description).
    const slim: RenderableScene = {
      roomSize: scene.roomSize,
      materials: scene.materials,
      roomMaterials: scene.roomMaterials,
      primitives: scene.primitives,
    };
    return new Promise((resolve, reject) => {
      this.#queue.push({
        job: { id: this.#nextId++, scene: slim, trajectory, frameIndex, width, height },
        resolve,
        reject,
      });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const w = this.#idle.shift()!;
      const { job, resolve, reject } = this.#queue.shift()!;
      this.#pending.set(job.id, { resolve, reject, worker: w });
      w.postMessage(job);
    }
  }

  /** Terminates the workers; pending renders never settle afterwards. */
  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
    this.#idle = [];
  }
}

/** Render frames of `trajectory` through `scene` (see RenderVideoOptions). Frame k of the result is frames[k]. */
export async function renderVideo(
  scene: RenderableScene,
  trajectory: Trajectory,
  opts: RenderVideoOptions,
): Promise<Frame[]> {
  const indices = typeof opts.frames === "number" ? Array.from({ length: opts.frames }, (_, i) => i) : opts.frames;
  const workers = opts.workers ?? 2;
  if (!opts.pool && workers === 0) {
    return indices.map((f) => renderFrame(scene, trajectory, f, opts.width, opts.height));
  }
  const pool = opts.pool ?? new RenderPool(workers);
  try {
    return await Promise.all(indices.map((f) => pool.render(scene, trajectory, f, opts.width, opts.height)));
  } finally {
    if (!opts.pool) pool.close();
  }
}
