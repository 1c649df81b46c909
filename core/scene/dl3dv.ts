/**
 * DL3DV / nerfstudio ingest: a folder with `transforms.json` (fl_x, fl_y, cx, cy, w, h, frames[{file_path,
 * transform_matrix}], camera-to-world 4x4 in OpenGL axes: x right, y up, z backward) and per-frame depth, either
 * `.npy` (float32 metres, or another float/uint16 dtype) or 16-bit PNG in millimetres. The depth file is the frame's
 * `depth_file_path` (nerfstudio's key) or, when absent, `depth/<image stem>.npy` then `depth/<image stem>.png`.
 * `depth_unit_scale_factor` (nerfstudio's key, metres per stored unit) overrides the default of 1 for .npy and
 * 0.001 for PNG. Per-frame fl_x/fl_y/cx/cy override the shared intrinsics. Everything is validated by zod; errors are
 * DataFormatErrors naming the file and the field.
 *
 * `writeNerfstudio` writes frames in the same layout (used to round-trip our own renders through this reader).
 */
import { basename, extname, join } from "node:path";
import { decode as decodePng, encode as encodePng } from "fast-png";
import jpeg from "jpeg-js";
import { z } from "zod";
import {
  openCvWorldToCameraToOpenGlCameraToWorld,
  openGlCameraToWorldToOpenCvWorldToCamera,
} from "../geometry/camera.ts";
import { DataFormatError } from "../errors.ts";
import { readJsonFile } from "../io/json_file.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { decodeNpy, encodeNpyFloat32 } from "./npy.ts";
import type { Frame, Mat3 } from "./types.ts";

const Row4 = z.tuple([z.number(), z.number(), z.number(), z.number()]);
const FrameSchema = z.object({
  file_path: z.string().min(1),
  transform_matrix: z.union([z.tuple([Row4, Row4, Row4, Row4]), z.tuple([Row4, Row4, Row4])]),
  depth_file_path: z.string().min(1).optional(),
  fl_x: z.number().positive().optional(),
  fl_y: z.number().positive().optional(),
  cx: z.number().optional(),
  cy: z.number().optional(),
});
export const TransformsSchema = z.object({
  fl_x: z.number().positive(),
  fl_y: z.number().positive(),
  cx: z.number(),
  cy: z.number(),
  w: z.number().int().positive(),
  h: z.number().int().positive(),
  depth_unit_scale_factor: z.number().positive().optional(),
  frames: z.array(FrameSchema).min(1),
});
export type Transforms = z.infer<typeof TransformsSchema>;

/** A nerfstudio / DL3DV folder read as posed RGB-D frames. */
export interface IngestedVideo {
  /** The folder read. */
  dir: string;
  /** Frames in transforms.json order, OpenCV world-to-camera. */
  frames: Frame[];
  /** The image file of each frame, as in transforms.json. */
  files: string[];
}

/**
 * Read a nerfstudio/DL3DV folder into posed RGB-D frames (OpenCV world-to-camera).
 *
 * @example Real posed RGB-D video → App. A tracks → shards, as for the generated scenes
 * ```ts
 * import { annotateSequence, ingestNerfstudio, Rng, sampleSequenceFrames, writeShards } from "@gasp/gasp-ts";
 * const video = await ingestNerfstudio("data/dl3dv/scene-0001"); // frames resized to 224² beforehand
 * const rng = new Rng(0);
 * const idx = sampleSequenceFrames(rng, video.frames.length, 8);
 * const grid = { rows: 8, cols: 8, patchSize: 28 };
 * const seq = annotateSequence(idx.map((i) => video.frames[i]), idx, grid, rng, { id: "dl3dv-0001-0" });
 * await writeShards("runs/dl3dv", { heldout: [seq] }, { seed: 0, generator: { kind: "dl3dv" } });
 * ```
 */
export async function ingestNerfstudio(dir: string): Promise<IngestedVideo> {
  const tfile = join(dir, "transforms.json");
  const t = await readJsonFile(tfile, TransformsSchema, "a readable JSON file");
  const frames: Frame[] = [];
  for (let k = 0; k < t.frames.length; k++) {
    const fr = t.frames[k];
    const imgPath = join(dir, fr.file_path);
    const rgb = await readRgb(imgPath, t.w, t.h);
    const depthPath = fr.depth_file_path ? join(dir, fr.depth_file_path) : await findDepth(dir, fr.file_path, tfile, k);
    const depth = await readDepth(depthPath, t.w, t.h, t.depth_unit_scale_factor);
    const K: Mat3 = [[fr.fl_x ?? t.fl_x, 0, fr.cx ?? t.cx], [0, fr.fl_y ?? t.fl_y, fr.cy ?? t.cy], [0, 0, 1]];
    frames.push({
      width: t.w,
      height: t.h,
      K,
      worldToCamera: openGlCameraToWorldToOpenCvWorldToCamera(fr.transform_matrix),
      rgb,
      depth,
    });
  }
  return { dir, frames, files: t.frames.map((f) => f.file_path) };
}

async function findDepth(dir: string, filePath: string, tfile: string, k: number): Promise<string> {
  const stem = basename(filePath, extname(filePath));
  for (const p of [join(dir, "depth", `${stem}.npy`), join(dir, "depth", `${stem}.png`)]) {
    try {
      await Deno.stat(p);
      return p;
    } catch { /* try the next */ }
  }
  throw new DataFormatError(
    tfile,
    `frames.${k}.depth_file_path`,
    `a depth file (or depth/${stem}.npy|.png)`,
    "none found",
  );
}

async function readBytes(path: string, field: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new DataFormatError(path, field, "a readable file", String(e));
  }
}

/** Decode a PNG or JPEG to 8-bit RGB (H, W, 3). */
async function readRgb(path: string, w: number, h: number): Promise<Uint8Array> {
  const bytes = await readBytes(path, "file_path");
  let width: number, height: number, channels: number, data: ArrayLike<number>, bits = 8;
  const ext = extname(path).toLowerCase();
  try {
    if (ext === ".jpg" || ext === ".jpeg") {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
      width = img.width, height = img.height, channels = 4, data = img.data;
    } else {
      const img = decodePng(bytes);
      width = img.width, height = img.height, channels = img.channels, data = img.data, bits = img.depth;
      if (img.palette) throw new Error("palette PNGs are not supported");
    }
  } catch (e) {
    throw new DataFormatError(path, "image", "a PNG or JPEG image", String(e));
  }
  if (width !== w || height !== h) {
    throw new DataFormatError(path, "size", `${w}×${h} (transforms.json w, h)`, `${width}×${height}`);
  }
  const out = new Uint8Array(w * h * 3);
  const scale = bits === 16 ? 1 / 257 : 1;
  for (let i = 0; i < w * h; i++) {
    for (let c = 0; c < 3; c++) {
      const src = channels >= 3 ? data[i * channels + c] : data[i * channels];
      out[i * 3 + c] = Math.round(src * scale);
    }
  }
  return out;
}

async function readDepth(path: string, w: number, h: number, unit: number | undefined): Promise<Float32Array> {
  const bytes = await readBytes(path, "depth_file_path");
  let data: Float32Array;
  if (extname(path).toLowerCase() === ".npy") {
    const arr = decodeNpy(bytes, path);
    if (arr.shape.length < 2 || arr.shape[0] !== h || arr.shape[1] !== w || arr.data.length !== w * h) {
      throw new DataFormatError(path, "shape", `(${h}, ${w})`, `found (${arr.shape})`);
    }
    data = unit === undefined ? arr.data : arr.data.map((d) => d * unit);
  } else {
    let img;
    try {
      img = decodePng(bytes);
    } catch (e) {
      throw new DataFormatError(path, "depth", "a 16-bit PNG (millimetres)", String(e));
    }
    if (img.depth !== 16 || img.channels !== 1) {
      throw new DataFormatError(
        path,
        "depth",
        "a 16-bit single-channel PNG",
        `${img.depth}-bit, ${img.channels} channels`,
      );
    }
    if (img.width !== w || img.height !== h) {
      throw new DataFormatError(path, "size", `${w}×${h}`, `${img.width}×${img.height}`);
    }
    const s = unit ?? 0.001;
    data = Float32Array.from(img.data as ArrayLike<number>, (d) => d * s);
  }
  return data;
}

/** How {@linkcode writeNerfstudio} stores depth. */
export interface WriteNerfstudioOptions {
  /** "npy" (float32 metres, lossless) or "png16" (uint16 millimetres). */
  depth: "npy" | "png16";
}

/** Write frames (shared intrinsics taken from frame 0) as a nerfstudio folder readable by ingestNerfstudio. */
export async function writeNerfstudio(dir: string, frames: Frame[], opts: WriteNerfstudioOptions): Promise<void> {
  const f0 = frames[0];
  const out: Transforms = {
    fl_x: f0.K[0][0],
    fl_y: f0.K[1][1],
    cx: f0.K[0][2],
    cy: f0.K[1][2],
    w: f0.width,
    h: f0.height,
    frames: [],
  };
  for (let k = 0; k < frames.length; k++) {
    const f = frames[k], name = `frame_${String(k + 1).padStart(5, "0")}`;
    const file_path = `images/${name}.png`;
    await writeFileAtomic(
      join(dir, file_path),
      encodePng({ width: f.width, height: f.height, data: f.rgb, channels: 3 }),
    );
    let depth_file_path: string;
    if (opts.depth === "npy") {
      depth_file_path = `depth/${name}.npy`;
      await writeFileAtomic(join(dir, depth_file_path), encodeNpyFloat32(f.depth, [f.height, f.width]));
    } else {
      depth_file_path = `depth/${name}.png`;
      const mm = Uint16Array.from(f.depth, (d) => Math.min(65535, Math.round(d * 1000)));
      await writeFileAtomic(
        join(dir, depth_file_path),
        encodePng({ width: f.width, height: f.height, data: mm, channels: 1, depth: 16 }),
      );
    }
    const fx = f.K[0][0], fy = f.K[1][1], cx = f.K[0][2], cy = f.K[1][2];
    const perFrame = fx !== out.fl_x || fy !== out.fl_y || cx !== out.cx || cy !== out.cy
      ? { fl_x: fx, fl_y: fy, cx, cy }
      : {};
    out.frames.push({
      file_path,
      depth_file_path,
      transform_matrix: openCvWorldToCameraToOpenGlCameraToWorld(f.worldToCamera),
      ...perFrame,
    });
  }
  await writeFileAtomic(join(dir, "transforms.json"), JSON.stringify(out, null, 1) + "\n");
}
