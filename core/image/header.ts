/**
 * Image facts read from the first bytes of a PNG or JPEG file, without decoding pixels: format, size, channels and
 * bit depth, and from them the bytes a decode would allocate. A 60-byte "decompression bomb" that claims
 * 100000 x 100000 pixels, or 4096 x 4096 RGBA at 16 bits, is refused from its header before anything is allocated
 * (serve/limits.ts before queueing, core/image/decode.ts again before decoding).
 */
import type { ImageMime } from "../text/chat.ts";

export interface ImageHeader {
  mime: ImageMime;
  width: number;
  height: number;
  /** Samples per pixel as stored: PNG grey 1, grey+alpha 2, RGB 3, RGBA 4, palette 1 (indices); JPEG components. */
  channels: number;
  /** Bits per sample (PNG 1, 2, 4, 8, 16; JPEG precision, 8 or 12). */
  bitDepth: number;
  /** PNG colour type 3: samples are palette indices, expanded to RGB(A) on decode. */
  palette: boolean;
  /** PNG Adam7 interlacing (the decoded stream then holds 7 passes). */
  interlaced: boolean;
}

/**
 * Largest decoded raster per image, in bytes (see decodedImageBytes): 4096 x 4096 RGBA at 8 bits. The engine shrinks
 * every image to at most 448² anyway; this bounds what one hostile header can make the decoder allocate.
 */
export const MAX_DECODED_IMAGE_BYTES = 4096 * 4096 * 4;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Channels of each PNG colour type, and the bit depths the PNG spec allows for it (Table 11.1). */
const PNG_COLOUR_TYPES: Record<number, { channels: number; depths: number[] }> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { channels: 3, depths: [8, 16] },
  3: { channels: 1, depths: [1, 2, 4, 8] },
  4: { channels: 2, depths: [8, 16] },
  6: { channels: 4, depths: [8, 16] },
};

/** Reads format, size, channels and depth from the first bytes of a PNG or JPEG; null when the bytes are neither. */
export function readImageHeader(bytes: Uint8Array): ImageHeader | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return readPngHeader(bytes);
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return readJpegHeader(bytes);
  return null;
}

/**
 * Bytes of the decoded raster: width x height x channels x bit depth / 8, where samples below 8 bits count as one
 * byte (decoders unpack them) and palette images count as 4 channels of 8 bits (expanded to RGBA with a tRNS chunk,
 * which the header does not announce).
 */
export function decodedImageBytes(h: ImageHeader): number {
  const channels = h.palette ? 4 : h.channels;
  const bytesPerSample = h.palette ? 1 : Math.ceil(h.bitDepth / 8);
  return h.width * h.height * channels * bytesPerSample;
}

/**
 * Bytes the PNG's zlib stream must inflate to: per scanline a filter byte plus ceil(width·channels·depth / 8) bytes,
 * for the whole image or (Adam7) for each of its 7 reduced passes. A stream that inflates to more is malformed.
 */
export function pngInflatedBytes(h: ImageHeader): number {
  const rowBytes = (w: number) => Math.ceil((w * h.channels * h.bitDepth) / 8);
  if (!h.interlaced) return h.height * (1 + rowBytes(h.width));
  // Adam7 passes: [x0, y0, dx, dy]
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
  let total = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((h.width - x0) / dx), ph = Math.ceil((h.height - y0) / dy);
    if (pw > 0 && ph > 0) total += ph * (1 + rowBytes(pw));
  }
  return total;
}

/** PNG: the signature, then IHDR first: length 13, "IHDR", width u32be, height u32be, depth, colour type, ... */
function readPngHeader(b: Uint8Array): ImageHeader | null {
  if (b.length < 33) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint32(8) !== 13) return null;
  if (String.fromCharCode(b[12], b[13], b[14], b[15]) !== "IHDR") return null;
  const width = v.getUint32(16);
  const height = v.getUint32(20);
  const bitDepth = b[24];
  const colour = PNG_COLOUR_TYPES[b[25]];
  if (!colour || !colour.depths.includes(bitDepth) || b[26] !== 0 || b[27] !== 0 || b[28] > 1) return null;
  return {
    mime: "image/png",
    width,
    height,
    channels: colour.channels,
    bitDepth,
    palette: b[25] === 3,
    interlaced: b[28] === 1,
  };
}

/**
 * JPEG: walk the marker segments after SOI (FFD8) to the first SOFn frame header
 * (FFC0-FFCF except C4 DHT, C8 JPG, CC DAC): [FF Cn][len u16][precision u8][height u16][width u16][components u8].
 */
function readJpegHeader(b: Uint8Array): ImageHeader | null {
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return null;
    let marker = b[i + 1];
    while (marker === 0xff && i + 2 < b.length) { // fill bytes
      i++;
      marker = b[i + 1];
    }
    if (marker === 0xd9 || marker === 0xda) return null; // EOI / SOS before any frame header
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { // standalone markers
      i += 2;
      continue;
    }
    if (i + 4 > b.length) return null;
    const len = (b[i + 2] << 8) | b[i + 3];
    if (len < 2) return null;
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (i + 10 > b.length || len < 8) return null;
      const bitDepth = b[i + 4];
      const height = (b[i + 5] << 8) | b[i + 6];
      const width = (b[i + 7] << 8) | b[i + 8];
      const channels = b[i + 9];
      if (channels < 1 || channels > 4) return null;
      return { mime: "image/jpeg", width, height, channels, bitDepth, palette: false, interlaced: false };
    }
    i += 2 + len;
  }
  return null;
}
