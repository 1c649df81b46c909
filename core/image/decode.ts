/** Decode PNG (fast-png) and JPEG (jpeg-js) bytes into 8-bit RGB. */
import { convertIndexedToRgb, decode as decodePng } from "fast-png";
import jpeg from "jpeg-js";
import { DataFormatError } from "../errors.ts";
import type { RgbImage } from "./types.ts";

/** Decode PNG or JPEG bytes (sniffed from the signature); alpha is dropped, grey is expanded, 16-bit is scaled. */
export function decodeImage(bytes: Uint8Array, source = "image"): RgbImage {
  if (bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    return decodePngRgb(bytes);
  }
  if (bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
    return { width: j.width, height: j.height, data: new Uint8Array(j.data) };
  }
  throw new DataFormatError(source, "signature", "PNG or JPEG bytes");
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
