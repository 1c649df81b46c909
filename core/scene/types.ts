/**
 * The data contract between scenes, annotation, training and evaluation (ARCHITECTURE.md "Scenes and sequences").
 * Pixel coordinates: origin at the top-left pixel's corner, so pixel (i, j) has centre (j + 0.5, i + 0.5).
 * Cameras: OpenCV axes (x right, y down, z forward); worldToCamera is [R|t] (3x4), K the 3x3 intrinsics.
 */

/** A 3x3 row-major matrix (intrinsics K, rotations). */
export type Mat3 = [[number, number, number], [number, number, number], [number, number, number]];
/** A row of a 3x4 or 4x4 matrix. */
export type Row4 = [number, number, number, number];
/** A 3x4 row-major matrix: a world-to-camera pose [R|t] (OpenCV axes). */
export type Mat34 = [Row4, Row4, Row4];

/** One posed RGB-D frame. */
export interface Frame {
  /** Width W in pixels. */
  width: number;
  /** Height H in pixels. */
  height: number;
  /** Pinhole intrinsics (pixels). */
  K: Mat3;
  /** Extrinsics [R|t], OpenCV axes. */
  worldToCamera: Mat34;
  /** 8-bit RGB, row-major (H, W, 3). */
  rgb: Uint8Array;
  /** Metric depth, camera z in metres (not ray length), row-major (H, W); 0 where nothing was hit. */
  depth: Float32Array;
  /** Object id per pixel (H, W); 0 = background/room. Absent for ingested real data. */
  objectId?: Uint16Array;
  /**
   * Pixels per object id, kept when `objectId` is dropped to save memory (training keeps ~2000 frames in memory;
   * the general instruction data needs only these counts, core/instruct/general.ts).
   */
  objectPixels?: ReadonlyMap<number, number>;
}

/** What a scene contains, with exact values, so QA and benchmark answers can be generated from it. */
export interface SceneObject {
  /** Object id (as in Frame.objectId; 0 is the room). */
  id: number;
  /** e.g. "box", "sphere", "cylinder", "table", "plane". */
  shape: string;
  /** A human name used in questions ("red box", "chair"). */
  name: string;
  /** Colour name ("red", "blue", …) of its base texture. */
  color: string;
  /** Centre in world coordinates (metres). */
  center: [number, number, number];
  /** Axis-aligned extent (metres) along world x, y, z. */
  size: [number, number, number];
}

/** A scene's exact contents (what shards store and QA and benchmark questions are generated from). */
export interface SceneDescription {
  /** Scene id. */
  id: string;
  /** The seed it was generated from. */
  seed: number;
  /** Room box extent (metres) along world x, y, z; the room spans [0, size] with y up? see `up`. */
  roomSize: [number, number, number];
  /** World up axis as a unit vector. */
  up: [number, number, number];
  /** The objects in the room. */
  objects: SceneObject[];
}

/** A track: one 3-D point seen from the anchor frame, followed through every frame of the sequence. */
export interface Track {
  /** Index (within the sequence) of the frame the point was back-projected from. */
  anchorFrame: number;
  /** Pixel position per frame, null where not visible. */
  points: ([number, number] | null)[];
  /** Visibility per frame (App. A's validity checks). */
  visible: boolean[];
  /** Depth (camera z, metres) of the point in each frame where visible, else null. */
  depths: (number | null)[];
}

/** Patch grid that tokens live on: 8 × 8 tokens of 28 px at 224², 24 × 24 at 672². */
export interface PatchGrid {
  /** Token rows. */
  rows: number;
  /** Token columns. */
  cols: number;
  /** Pixels per token side (28 = two 14-px patches merged 2 × 2). */
  patchSize: number;
}

/**
 * One training/evaluation sequence: F frames (frame 0 is the anchor) plus correspondence annotation (App. A).
 * targetPatch[t * F + f] = row-major patch index (in `grid`) of track t in frame f, or -1 where not visible.
 * patchDepth[f * P + p] = average-pooled depth of patch p in frame f over valid pixels (Eq 7's d_j^b); 0 if none.
 */
export interface CorrespondenceSequence {
  /** Sequence id (unique in its dataset). */
  id: string;
  /** The scene it was cut from (scenes never cross splits). */
  sceneId: string;
  /** Index of each frame in the source video (for Δt = |frameIndices[k] - frameIndices[0]|). */
  frameIndices: number[];
  /** The F frames; frame 0 is the anchor. */
  frames: Frame[];
  /** The token grid the annotation is on. */
  grid: PatchGrid;
  /** The kept tracks (App. A), in grid order. */
  tracks: Track[];
  /** (tracks·F) patch of each track in each frame, −1 where not visible. */
  targetPatch: Int32Array;
  /** (F·P) average-pooled depth of each patch (Eq 7's d_j^b). */
  patchDepth: Float32Array;
  /**
   * Negative samples (App. A): per track and frame, a perturbed pixel position (within 50 % of the patch-grid
   * extent… see annotator docs) that is NOT the correspondence; null where the track is not visible.
   */
  negatives: ([number, number] | null)[][];
  /** The scene's description, for generated data. */
  scene?: SceneDescription;
}
