/**
 * One CorrespondenceSequence <-> one binary record payload (the body of a shard record, see shards.ts).
 *
 * Payload layout (all integers little-endian):
 *   u32 jsonLength | JSON (UTF-8) | blob area
 * The JSON holds every non-array field plus, per binary array, [offset, length] into the blob area.
 * Blob encodings (lossless): rgb = deflate(each byte minus the same channel of the left pixel, mod 256: PNG's "sub"
 * filter); depth = deflate(byte-planes of the row-wise differences of the f32 bit patterns as u32: all byte 0s,
 * then all byte 1s, …, which compresses smooth floats far better); objectId = deflate(byte-planes of u16);
 * targetPatch = deflate(i32 LE); patchDepth = raw f32 LE.
 */
import { deflateSync, inflateSync } from "node:zlib";
import { DataFormatError } from "../errors.ts";
import type { CorrespondenceSequence, Frame, Mat3, Mat34, PatchGrid, SceneDescription, Track } from "./types.ts";

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("GASP-TS shards assume a little-endian platform");
}

type Span = [number, number];

interface FrameMeta {
  width: number;
  height: number;
  K: Mat3;
  worldToCamera: Mat34;
  rgb: Span;
  depth: Span;
  objectId?: Span;
}

interface RecordMeta {
  id: string;
  sceneId: string;
  frameIndices: number[];
  grid: PatchGrid;
  tracks: Track[];
  negatives: ([number, number] | null)[][];
  scene?: SceneDescription;
  frames: FrameMeta[];
  targetPatch: Span;
  patchDepth: Span;
}

function byteShuffle(bytes: Uint8Array, width: number): Uint8Array {
  const n = bytes.length / width, out = new Uint8Array(bytes.length);
  for (let b = 0; b < width; b++) for (let i = 0; i < n; i++) out[b * n + i] = bytes[i * width + b];
  return out;
}

function byteUnshuffle(bytes: Uint8Array, width: number): Uint8Array {
  const n = bytes.length / width, out = new Uint8Array(bytes.length);
  for (let b = 0; b < width; b++) for (let i = 0; i < n; i++) out[i * width + b] = bytes[b * n + i];
  return out;
}

/** PNG "sub" filter on (H, W, 3) bytes, and its inverse. */
function subFilter(rgb: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(rgb.length), row = width * 3;
  for (let i = 0; i < rgb.length; i++) out[i] = i % row >= 3 ? (rgb[i] - rgb[i - 3]) & 255 : rgb[i];
  return out;
}

function unSubFilter(f: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(f.length), row = width * 3;
  for (let i = 0; i < f.length; i++) out[i] = i % row >= 3 ? (f[i] + out[i - 3]) & 255 : f[i];
  return out;
}

/** Row-wise difference of f32 bit patterns (as u32, mod 2^32), and its inverse. */
function deltaBits(depth: Float32Array, width: number): Uint8Array {
  const u = new Uint32Array(depth.buffer, depth.byteOffset, depth.length), out = new Uint32Array(u.length);
  for (let i = 0; i < u.length; i++) out[i] = i % width ? (u[i] - u[i - 1]) >>> 0 : u[i];
  return new Uint8Array(out.buffer);
}

function unDeltaBits(bytes: Uint8Array, width: number): Float32Array {
  const d = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), out = new Uint32Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = i % width ? (d[i] + out[i - 1]) >>> 0 : d[i];
  return new Float32Array(out.buffer);
}

function view(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function encodeRecord(seq: CorrespondenceSequence): Uint8Array {
  const blobs: Uint8Array[] = [];
  let offset = 0;
  const put = (b: Uint8Array): Span => {
    blobs.push(b);
    const span: Span = [offset, b.length];
    offset += b.length;
    return span;
  };
  const frames: FrameMeta[] = seq.frames.map((f) => ({
    width: f.width,
    height: f.height,
    K: f.K,
    worldToCamera: f.worldToCamera,
    rgb: put(deflateSync(subFilter(f.rgb, f.width), { level: 3 })),
    depth: put(deflateSync(byteShuffle(deltaBits(f.depth, f.width), 4), { level: 3 })),
    ...(f.objectId ? { objectId: put(deflateSync(byteShuffle(view(f.objectId), 2), { level: 3 })) } : {}),
  }));
  const meta: RecordMeta = {
    id: seq.id,
    sceneId: seq.sceneId,
    frameIndices: seq.frameIndices,
    grid: seq.grid,
    tracks: seq.tracks,
    negatives: seq.negatives,
    ...(seq.scene ? { scene: seq.scene } : {}),
    frames,
    targetPatch: put(deflateSync(view(seq.targetPatch))),
    patchDepth: put(view(seq.patchDepth).slice()),
  };
  const json = new TextEncoder().encode(JSON.stringify(meta));
  const out = new Uint8Array(4 + json.length + offset);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  let at = 4 + json.length;
  for (const b of blobs) out.set(b, at), at += b.length;
  return out;
}

/** Decode a payload; `where` (file and record) names the culprit in errors. */
export function decodeRecord(payload: Uint8Array, file: string, where: string): CorrespondenceSequence {
  const fail = (expected: string, detail: string) => new DataFormatError(file, where, expected, detail);
  if (payload.length < 4) throw fail("a record payload", "payload shorter than its 4-byte header");
  const jsonLength = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0, true);
  if (4 + jsonLength > payload.length) throw fail("a record payload", "JSON header runs past the record");
  let meta: RecordMeta;
  try {
    meta = JSON.parse(new TextDecoder().decode(payload.subarray(4, 4 + jsonLength)));
  } catch (e) {
    throw fail("a JSON record header", String(e));
  }
  const base = 4 + jsonLength;
  const blob = (s: Span, name: string): Uint8Array => {
    if (!Array.isArray(s) || s[0] < 0 || base + s[0] + s[1] > payload.length) {
      throw fail(`${name} within the record`, `span ${s}`);
    }
    return payload.subarray(base + s[0], base + s[0] + s[1]);
  };
  const inflate = (s: Span, name: string, bytes: number): Uint8Array => {
    let out: Uint8Array;
    try {
      out = new Uint8Array(inflateSync(blob(s, name)));
    } catch (e) {
      throw fail(`deflate data for ${name}`, String(e));
    }
    if (out.length !== bytes) throw fail(`${bytes} bytes of ${name}`, `got ${out.length}`);
    return out;
  };
  const frames: Frame[] = meta.frames.map((f, k) => {
    const n = f.width * f.height;
    const frame: Frame = {
      width: f.width,
      height: f.height,
      K: f.K,
      worldToCamera: f.worldToCamera,
      rgb: unSubFilter(inflate(f.rgb, `frames[${k}].rgb`, n * 3), f.width),
      depth: unDeltaBits(byteUnshuffle(inflate(f.depth, `frames[${k}].depth`, n * 4), 4), f.width),
    };
    if (f.objectId) {
      frame.objectId = new Uint16Array(byteUnshuffle(inflate(f.objectId, `frames[${k}].objectId`, n * 2), 2).buffer);
    }
    return frame;
  });
  const F = frames.length, P = meta.grid.rows * meta.grid.cols;
  const tp = inflate(meta.targetPatch, "targetPatch", meta.tracks.length * F * 4);
  const pd = blob(meta.patchDepth, "patchDepth");
  if (pd.length !== F * P * 4) throw fail(`${F * P * 4} bytes of patchDepth`, `got ${pd.length}`);
  return {
    id: meta.id,
    sceneId: meta.sceneId,
    frameIndices: meta.frameIndices,
    frames,
    grid: meta.grid,
    tracks: meta.tracks,
    targetPatch: new Int32Array(tp.buffer, tp.byteOffset, tp.byteLength / 4),
    patchDepth: new Float32Array(pd.slice().buffer),
    negatives: meta.negatives,
    ...(meta.scene ? { scene: meta.scene } : {}),
  };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE, as zlib/PNG). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
