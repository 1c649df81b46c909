/**
 * Hand-built PNG files: any colour type, bit depth, palette and interlace flag, and a raw IDAT stream, including ones
 * no encoder would write (header-only "bombs", deflate bombs). For decoder tests and the hostile traffic of the
 * server's fuzz and soak tests (serve/hostile_traffic.ts).
 */
import { zlibSync } from "fflate";
import { concatBytes } from "../io/concat.ts";

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export interface PngSpec {
  width: number;
  height: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  colourType: number;
  bitDepth: number;
  interlace?: 0 | 1;
  /** RGB triples for colour type 3. */
  palette?: [number, number, number][];
  /** The zlib stream of the IDAT chunk; default: none (a header-only "bomb"). */
  idat?: Uint8Array;
}

export function buildPng(s: PngSpec): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, s.width >>> 0);
  v.setUint32(4, s.height >>> 0);
  ihdr.set([s.bitDepth, s.colourType, 0, 0, s.interlace ?? 0], 8);
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr)];
  if (s.palette) parts.push(chunk("PLTE", Uint8Array.from(s.palette.flat())));
  parts.push(chunk("IDAT", s.idat ?? new Uint8Array(0)), chunk("IEND", new Uint8Array(0)));
  return concatBytes(parts);
}

/** A zlib stream of scanlines, each prefixed with filter byte 0 (None). */
export function scanlines(rows: Uint8Array[]): Uint8Array {
  const raw = new Uint8Array(rows.reduce((n, r) => n + 1 + r.length, 0));
  let o = 0;
  for (const r of rows) {
    raw[o++] = 0;
    raw.set(r, o);
    o += r.length;
  }
  return zlibSync(raw);
}

/** A zlib stream of `n` zero bytes: compresses about 1000:1, the classic deflate bomb. */
export function zeroStream(n: number): Uint8Array {
  return zlibSync(new Uint8Array(n), { level: 9 });
}
