/**
 * Plain export of one sequence for inspection and other tools (`exportSequence`):
 *   rgb/NNNN.png            8-bit RGB
 *   depth/NNNN.npy          float32, little-endian, C order, metres (camera z), shape (H, W)
 *   cameras.json            {"frames": [{"rgb", "depth", "K": 3x3, "worldToCamera": 3x4 (OpenCV axes)}]}
 *   tracks.json             {"width", "height", "tracks": [{"anchorFrame", "points": [[u, v] | null, …], "visible"}]}
 * Pixel coordinates have their origin at the top-left pixel's corner. All files are written atomically.
 */
import { join } from "node:path";
import { encode } from "fast-png";
import { writeFileAtomic } from "../io/atomic.ts";
import { encodeNpyFloat32 } from "./npy.ts";
import type { CorrespondenceSequence, Frame } from "./types.ts";

/** What {@linkcode exportSequence} wrote. */
export interface ExportedFiles {
  /** The folder written. */
  dir: string;
  /** Frames written (PNG + depth .npy each). */
  frames: number;
  /** Tracks in tracks.json. */
  tracks: number;
}

export function frameName(k: number): string {
  return String(k).padStart(4, "0");
}

export function encodeRgbPng(frame: Frame): Uint8Array {
  return encode({ width: frame.width, height: frame.height, data: frame.rgb, channels: 3, depth: 8 });
}

/** Writes one sequence as plain files (frames as PNG, depth as .npy, cameras and tracks as JSON) for inspection. */
export async function exportSequence(dir: string, seq: CorrespondenceSequence): Promise<ExportedFiles> {
  const cameras = [];
  for (let k = 0; k < seq.frames.length; k++) {
    const f = seq.frames[k];
    const rgb = `rgb/${frameName(k)}.png`, depth = `depth/${frameName(k)}.npy`;
    await writeFileAtomic(join(dir, rgb), encodeRgbPng(f));
    await writeFileAtomic(join(dir, depth), encodeNpyFloat32(f.depth, [f.height, f.width]));
    cameras.push({ rgb, depth, K: f.K, worldToCamera: f.worldToCamera });
  }
  await writeFileAtomic(join(dir, "cameras.json"), JSON.stringify({ frames: cameras }, null, 1) + "\n");
  const f0 = seq.frames[0];
  const tracks = {
    width: f0.width,
    height: f0.height,
    tracks: seq.tracks.map((t) => ({ anchorFrame: t.anchorFrame, points: t.points, visible: t.visible })),
  };
  await writeFileAtomic(join(dir, "tracks.json"), JSON.stringify(tracks) + "\n");
  return { dir, frames: seq.frames.length, tracks: seq.tracks.length };
}
