/**
 * Decode PNG (fast-png) and JPEG (jpeg-js) bytes into 8-bit RGB, with the decode's size checked BEFORE anything is
 * allocated: the header's width x height x channels x bit depth (core/image/header.ts) must fit `maxDecodedBytes`,
 * and a PNG's zlib stream must not inflate past the size its header implies (a small IHDR over a deflate bomb would
 * otherwise inflate to gigabytes inside fast-png, which keeps every chunk). JPEG gets jpeg-js's own resolution and
 * memory ceilings on top.
 */
import { convertIndexedToRgb, decode as decodePng } from "fast-png";
import { Unzlib } from "fflate";
import jpeg from "jpeg-js";
import { DataFormatError } from "../errors.ts";
import type { EncodedImage } from "../text/chat.ts";
import {
  decodedImageBytes,
  type ImageHeader,
  MAX_DECODED_IMAGE_BYTES,
  pngInflatedBytes,
  readImageHeader,
} from "./header.ts";
import type { RgbImage } from "./types.ts";

export interface DecodeLimits {
  /** Largest decoded raster in bytes (decodedImageBytes of the header); default MAX_DECODED_IMAGE_BYTES. */
  maxDecodedBytes?: number;
}

/** Decode PNG or JPEG bytes (sniffed from the signature); alpha is dropped, grey is expanded, 16-bit is scaled. */
export function decodeImage(bytes: Uint8Array, source = "image", limits: DecodeLimits = {}): RgbImage {
  const header = readImageHeader(bytes);
  if (!header) throw new DataFormatError(source, "signature", "PNG or JPEG bytes with a valid IHDR / SOF header");
  checkDecodedSize(header, source, limits.maxDecodedBytes ?? MAX_DECODED_IMAGE_BYTES);
  let image: RgbImage;
  try {
    if (header.mime === "image/png") {
      checkPngInflatedSize(bytes, header, source);
      image = decodePngRgb(bytes);
    } else {
      const maxBytes = limits.maxDecodedBytes ?? MAX_DECODED_IMAGE_BYTES;
      const j = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: false,
        maxResolutionInMP: Math.ceil((header.width * header.height) / 1e6),
        // jpeg-js holds 16-bit coefficient blocks per component plus the planes and the output: ~5x a 3-channel
        // raster (a 4096² RGB JPEG needs ~250 MB); 8x the raster limit leaves room and still bounds it
        maxMemoryUsageInMB: Math.ceil((8 * maxBytes) / 2 ** 20),
      });
      image = {
        width: j.width,
        height: j.height,
        data: new Uint8Array(j.data.buffer, j.data.byteOffset, j.data.length),
      };
    }
  } catch (e) {
    if (e instanceof DataFormatError) throw e;
    throw new DataFormatError(source, "bytes", `a decodable ${header.mime} file`, (e as Error).message);
  }
  if (image.width !== header.width || image.height !== header.height) {
    throw new DataFormatError(
      source,
      "size",
      `${header.width}x${header.height} as its header says`,
      `decoded ${image.width}x${image.height}`,
    );
  }
  return image;
}

/** Decodes an encoded image part and checks it is the size the caller read from its header. */
export function decodeEncodedImage(img: EncodedImage, source = "image", limits: DecodeLimits = {}): RgbImage {
  const image = decodeImage(img.bytes, source, limits);
  if (image.width !== img.width || image.height !== img.height) {
    throw new DataFormatError(source, "size", `${img.width}x${img.height}`, `decoded ${image.width}x${image.height}`);
  }
  return image;
}

function checkDecodedSize(h: ImageHeader, source: string, maxBytes: number): void {
  if (h.width < 1 || h.height < 1) {
    throw new DataFormatError(source, "size", "a width and height of at least 1", `${h.width}x${h.height}`);
  }
  const n = decodedImageBytes(h);
  if (n > maxBytes) {
    throw new DataFormatError(
      source,
      "size",
      `a decoded size of at most ${maxBytes} bytes`,
      `${h.width}x${h.height}, ${
        h.palette ? "palette" : `${h.channels} channel(s)`
      } at ${h.bitDepth} bits = ${n} bytes`,
    );
  }
}

/** Inflates the IDAT stream in slices, counting, and stops as soon as it exceeds what the header implies. */
function checkPngInflatedSize(bytes: Uint8Array, h: ImageHeader, source: string): void {
  const limit = pngInflatedBytes(h);
  let total = 0;
  const inflater = new Unzlib((chunk) => {
    total += chunk.length;
  });
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const SLICE = 16 * 1024; // at most ~16 MiB of output per push (deflate expands at most ~1032x)
  for (let off = 8; off + 12 <= bytes.length;) {
    const len = v.getUint32(off);
    const type = String.fromCharCode(bytes[off + 4], bytes[off + 5], bytes[off + 6], bytes[off + 7]);
    const end = Math.min(bytes.length, off + 8 + len);
    if (type === "IDAT") {
      for (let s = off + 8; s < end; s += SLICE) {
        inflater.push(bytes.subarray(s, Math.min(end, s + SLICE)), false);
        if (total > limit) {
          throw new DataFormatError(
            source,
            "IDAT",
            `image data that inflates to ${limit} bytes (${h.width}x${h.height} per its header)`,
            `more than ${total} bytes`,
          );
        }
      }
    }
    if (type === "IEND") break;
    off = end + 4;
  }
}

function decodePngRgb(bytes: Uint8Array): RgbImage {
  const png = decodePng(bytes);
  const { width, height } = png;
  let src: ArrayLike<number> = png.data;
  let channels = png.channels;
  let depth: number = png.depth;
  if (png.palette) {
    src = convertIndexedToRgb(png);
    channels = png.palette[0].length;
    depth = 8;
  } else if (depth < 8) {
    src = unpackSamples(png.data as Uint8Array, width, height, channels, depth);
  }
  const out = new Uint8Array(width * height * 3);
  const scale = depth === 16 ? 1 / 257 : depth < 8 ? 255 / ((1 << depth) - 1) : 1;
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) {
      const sc = channels >= 3 ? c : 0; // grey and grey+alpha replicate channel 0
      out[i * 3 + c] = Math.round(src[i * channels + sc] * scale);
    }
  }
  return { width, height, data: out };
}

/** 1-, 2- and 4-bit samples (fast-png keeps them packed, each row padded to a byte) as one byte per sample. */
function unpackSamples(data: Uint8Array, w: number, h: number, channels: number, depth: number): Uint8Array {
  const rowBytes = Math.ceil((w * channels * depth) / 8);
  const mask = (1 << depth) - 1;
  const out = new Uint8Array(w * h * channels);
  for (let y = 0; y < h; y++) {
    for (let s = 0; s < w * channels; s++) {
      const bit = s * depth;
      out[y * w * channels + s] = (data[y * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}
