/**
 * Image bytes for benchmark items: format sniffing, a cheap header check at load time, a full decode before use,
 * and PNG encoding for the synthetic suites. PNG via "fast-png", JPEG via "jpeg-js".
 */
import { decode as decodePng, encode as encodePng } from "fast-png";
import jpeg from "jpeg-js";
import { DataFormatError } from "../../core/errors.ts";
import type { BenchImage } from "./types.ts";

export interface RgbImage {
  width: number;
  height: number;
  /** 8-bit RGB, row-major (H, W, 3). */
  rgb: Uint8Array;
}

export function sniffImageMime(bytes: Uint8Array): "image/png" | "image/jpeg" | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    return "image/png";
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "image/jpeg";
  return null;
}

/** Checks the signature; throws DataFormatError naming where the bytes came from. */
export function checkImageBytes(
  bytes: Uint8Array,
  file: string,
  where: string,
): { bytes: Uint8Array; mime: BenchImage["mime"] } {
  const mime = sniffImageMime(bytes);
  if (!mime) {
    throw new DataFormatError(
      file,
      where,
      "PNG or JPEG image bytes",
      // Only the length: the bytes may be any file's content, and messages never print content.
      `got ${bytes.length} bytes without a PNG or JPEG signature`,
    );
  }
  return { bytes, mime };
}

/** Fully decodes PNG/JPEG to RGB; a truncated or corrupt image gives DataFormatError. */
export function decodeImage(bytes: Uint8Array, file: string, where: string): RgbImage {
  const { mime } = checkImageBytes(bytes, file, where);
  try {
    if (mime === "image/png") {
      const img = decodePng(bytes);
      const ch = img.channels;
      const n = img.width * img.height;
      const src = img.data;
      const scale = img.depth === 16 ? 257 : 1;
      const rgb = new Uint8Array(n * 3);
      if (img.palette) {
        for (let i = 0; i < n; i++) {
          const p = img.palette[src[i]];
          rgb.set([p[0], p[1], p[2]], i * 3);
        }
      } else {
        for (let i = 0; i < n; i++) {
          for (let c = 0; c < 3; c++) rgb[i * 3 + c] = src[i * ch + (ch >= 3 ? c : 0)] / scale;
        }
      }
      return { width: img.width, height: img.height, rgb };
    }
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
    const n = img.width * img.height;
    const rgb = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) rgb.set(img.data.subarray(i * 4, i * 4 + 3), i * 3);
    return { width: img.width, height: img.height, rgb };
  } catch (e) {
    throw new DataFormatError(file, where, `a decodable ${mime} image`, (e as Error).message);
  }
}

export function encodeRgbPng(img: RgbImage): Uint8Array {
  return encodePng({ width: img.width, height: img.height, data: img.rgb, channels: 3, depth: 8 });
}
