/**
 * Request limits and image checks done BEFORE any pixel decoding: sizes and formats come from the file headers
 * (PNG IHDR, JPEG SOFn), so a 60-byte "decompression bomb" claiming 100000 x 100000 pixels is refused without
 * allocating anything. Only PNG and JPEG are accepted, and only inline (data URL or bare base64).
 */
import { ApiError } from "./errors.ts";

export interface ServeLimits {
  /** Whole request body, bytes (413 beyond). 24 MiB fits 8 base64 images of ~2 MiB with room to spare. */
  maxBodyBytes: number;
  /** Images per request; the tiny model's context holds about 8 small images. */
  maxImages: number;
  /** Encoded bytes per image after base64 decoding. */
  maxImageBytes: number;
  /** Pixels per image (width x height) claimed by its header; 4096 x 4096 = 16.8 M. */
  maxImagePixels: number;
  /** Longest side in pixels. */
  maxImageSide: number;
  /** Ceiling for max_tokens; requests above it get 400. */
  maxTokens: number;
  /** max_tokens used when the request gives none. */
  defaultMaxTokens: number;
  /** Characters of text across all messages (or the question). */
  maxTextChars: number;
  /** Messages per chat request. */
  maxMessages: number;
  /** Stop strings per request (OpenAI allows 4). */
  maxStop: number;
}

export const defaultLimits: ServeLimits = {
  maxBodyBytes: 24 * 1024 * 1024,
  maxImages: 8,
  maxImageBytes: 8 * 1024 * 1024,
  maxImagePixels: 4096 * 4096,
  maxImageSide: 8192,
  maxTokens: 1024,
  defaultMaxTokens: 256,
  maxTextChars: 32_768,
  maxMessages: 64,
  maxStop: 4,
};

export type ImageMime = "image/png" | "image/jpeg";

export interface ImageHeader {
  mime: ImageMime;
  width: number;
  height: number;
}

export interface CheckedImage extends ImageHeader {
  bytes: Uint8Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Reads format and dimensions from the first bytes of a PNG or JPEG; null when the bytes are neither. */
export function readImageHeader(bytes: Uint8Array): ImageHeader | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return readPngHeader(bytes);
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return readJpegHeader(bytes);
  return null;
}

/** PNG: signature, then the IHDR chunk must come first: length 13, "IHDR", width u32be, height u32be, ... */
function readPngHeader(b: Uint8Array): ImageHeader | null {
  if (b.length < 33) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint32(8) !== 13) return null;
  if (String.fromCharCode(b[12], b[13], b[14], b[15]) !== "IHDR") return null;
  const width = v.getUint32(16);
  const height = v.getUint32(20);
  const bitDepth = b[24];
  const colorType = b[25];
  if (![1, 2, 4, 8, 16].includes(bitDepth) || ![0, 2, 3, 4, 6].includes(colorType)) return null;
  return { mime: "image/png", width, height };
}

/**
 * JPEG: walk the marker segments after SOI (FFD8) to the first SOFn frame header
 * (FFC0-FFCF except C4 DHT, C8 JPG, CC DAC): [FF Cn][len u16][precision u8][height u16][width u16].
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
      if (i + 9 > b.length || len < 7) return null;
      const height = (b[i + 5] << 8) | b[i + 6];
      const width = (b[i + 7] << 8) | b[i + 8];
      return { mime: "image/jpeg", width, height };
    }
    i += 2 + len;
  }
  return null;
}

type FromBase64 = (s: string, o: { alphabet: "base64"; lastChunkHandling: "strict" }) => Uint8Array;
const nativeFromBase64 = (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64?.bind(Uint8Array);

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 (standard alphabet, padded to a multiple of 4, whitespace ignored) -> bytes; null when malformed. */
export function decodeBase64Strict(s: string): Uint8Array | null {
  if (nativeFromBase64) {
    // V8's TC39 Uint8Array.fromBase64: ~4x faster than atob; "strict" demands padding and zero pad bits.
    try {
      const out = nativeFromBase64(s, { alphabet: "base64", lastChunkHandling: "strict" });
      return out.length > 0 ? out : null;
    } catch {
      return null;
    }
  }
  const clean = s.replace(/[\r\n\t ]/g, "");
  if (clean.length === 0 || clean.length % 4 !== 0 || !BASE64_RE.test(clean)) return null;
  try {
    const bin = atob(clean);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

const DATA_URL_RE = /^data:([a-zA-Z0-9.+-]+\/[a-zA-Z0-9.+-]+)?((?:;[a-zA-Z0-9=.+-]+)*?);base64,/;

/**
 * Turns one image reference (a `data:image/...;base64,` URL or bare base64) into checked bytes. Throws ApiError:
 * 400 remote URL or broken base64, 415 not PNG/JPEG or declared type disagreeing with the bytes,
 * 413 too many bytes or pixels (checked from the header, before any decode).
 */
export function checkImageRef(ref: string, limits: ServeLimits, param: string): CheckedImage {
  let declared: string | null = null;
  let payload = ref;
  if (/^https?:\/\//i.test(ref)) {
    throw new ApiError(
      400,
      "Remote image URLs are not fetched by this server; send the image inline as a data URL " +
        "(data:image/png;base64,...) or bare base64.",
      "invalid_request_error",
      "unsupported_image_url",
      param,
    );
  }
  if (ref.startsWith("data:")) {
    const m = DATA_URL_RE.exec(ref.slice(0, 256));
    if (!m) {
      throw new ApiError(
        400,
        "Malformed data URL: expected data:image/png;base64,<base64> or data:image/jpeg;base64,<base64>.",
        "invalid_request_error",
        "invalid_image_url",
        param,
      );
    }
    declared = (m[1] ?? "").toLowerCase();
    payload = ref.slice(m[0].length);
    if (declared === "image/jpg") declared = "image/jpeg";
    if (declared !== "image/png" && declared !== "image/jpeg") {
      throw new ApiError(
        415,
        `Unsupported image content type "${declared || "(none)"}"; send image/png or image/jpeg.`,
        "invalid_request_error",
        "unsupported_media_type",
        param,
      );
    }
  }
  // base64 expands 3 bytes to 4 characters: refuse oversize payloads before decoding them.
  if (Math.floor(payload.length / 4) * 3 > limits.maxImageBytes + 3) {
    throw new ApiError(
      413,
      `Image is larger than ${limits.maxImageBytes} bytes; downscale or recompress it.`,
      "invalid_request_error",
      "image_too_large",
      param,
    );
  }
  const bytes = decodeBase64Strict(payload);
  if (!bytes) {
    throw new ApiError(
      400,
      "Image data is not valid base64 (standard alphabet, length a multiple of 4).",
      "invalid_request_error",
      "invalid_base64",
      param,
    );
  }
  const header = readImageHeader(bytes);
  if (!header) {
    throw new ApiError(
      415,
      "Image bytes are not a PNG or JPEG file (no valid PNG IHDR or JPEG frame header found).",
      "invalid_request_error",
      "unsupported_media_type",
      param,
    );
  }
  if (declared && declared !== header.mime) {
    throw new ApiError(
      415,
      `The data URL says ${declared} but the bytes are ${header.mime}; fix the content type.`,
      "invalid_request_error",
      "unsupported_media_type",
      param,
    );
  }
  const { width, height } = header;
  if (width < 1 || height < 1) {
    throw new ApiError(
      400,
      `Image has an empty size ${width}x${height}.`,
      "invalid_request_error",
      "invalid_image",
      param,
    );
  }
  if (width > limits.maxImageSide || height > limits.maxImageSide || width * height > limits.maxImagePixels) {
    throw new ApiError(
      413,
      `Image header claims ${width}x${height} pixels; the limit is ${limits.maxImagePixels} pixels and ` +
        `${limits.maxImageSide} per side. Downscale it before sending.`,
      "invalid_request_error",
      "image_too_large",
      param,
    );
  }
  return { ...header, bytes };
}
