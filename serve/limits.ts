/**
 * Request limits and image checks done BEFORE any pixel decoding: sizes and formats come from the file headers
 * (PNG IHDR, JPEG SOFn; core/image/header.ts), so a 60-byte "decompression bomb" claiming 100000 x 100000 pixels,
 * or 4096 x 4096 RGBA at 16 bits, is refused without allocating anything. Only PNG and JPEG are accepted, and only
 * inline (data URL or bare base64).
 */
import { decodedImageBytes, type ImageHeader, MAX_DECODED_IMAGE_BYTES, readImageHeader } from "../core/image/header.ts";
import { ApiError } from "./errors.ts";

export { readImageHeader };

/** What one request may hold; beyond each limit the server answers with the status its comment names. */
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
  /**
   * Decoded raster per image, width x height x channels x bytes per sample, from the header (palette PNGs as RGBA);
   * the decoder refuses more than MAX_DECODED_IMAGE_BYTES whatever this says.
   */
  maxImageDecodedBytes: number;
  /**
   * Prompt tokens per request, vision pads included (400 context_length_exceeded beyond; the model's context also
   * applies). 4096: on the WASM EP of a 2-core CPU the tiny model's 4k prefill takes ~4 s and ~1 GB; 8k takes
   * ~17 s and 3.3 GB; 16k fails in onnxruntime with std::bad_alloc.
   */
  maxPromptTokens: number;
  /** Time to receive the whole body once the head arrived (408 beyond): slow uploads do not hold a handler. */
  bodyTimeoutMs: number;
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
  maxImageDecodedBytes: MAX_DECODED_IMAGE_BYTES, // 4096² RGBA8; 16-bit 4096² RGB(A) is refused
  maxPromptTokens: 4096,
  bodyTimeoutMs: 60_000,
  maxTokens: 1024,
  defaultMaxTokens: 256,
  maxTextChars: 32_768,
  maxMessages: 64,
  maxStop: 4,
};

export interface CheckedImage extends ImageHeader {
  bytes: Uint8Array;
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
  // Every refusal of an image names the request field `param`.
  const invalid = (status: ApiError["status"], message: string, code: string) =>
    new ApiError(status, message, "invalid_request_error", code, param);
  let declared: string | null = null;
  let payload = ref;
  if (/^https?:\/\//i.test(ref)) {
    throw invalid(
      400,
      "Remote image URLs are not fetched by this server; send the image inline as a data URL " +
        "(data:image/png;base64,...) or bare base64.",
      "unsupported_image_url",
    );
  }
  if (ref.startsWith("data:")) {
    const m = DATA_URL_RE.exec(ref.slice(0, 256));
    if (!m) {
      throw invalid(
        400,
        "Malformed data URL: expected data:image/png;base64,<base64> or data:image/jpeg;base64,<base64>.",
        "invalid_image_url",
      );
    }
    declared = (m[1] ?? "").toLowerCase();
    payload = ref.slice(m[0].length);
    if (declared === "image/jpg") declared = "image/jpeg";
    if (declared !== "image/png" && declared !== "image/jpeg") {
      throw invalid(
        415,
        `Unsupported image content type "${declared || "(none)"}"; send image/png or image/jpeg.`,
        "unsupported_media_type",
      );
    }
  }
  // base64 expands 3 bytes to 4 characters: refuse oversize payloads before decoding them.
  if (Math.floor(payload.length / 4) * 3 > limits.maxImageBytes + 3) {
    throw invalid(
      413,
      `Image is larger than ${limits.maxImageBytes} bytes; downscale or recompress it.`,
      "image_too_large",
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
    throw invalid(
      415,
      "Image bytes are not a PNG or JPEG file (no valid PNG IHDR or JPEG frame header found).",
      "unsupported_media_type",
    );
  }
  if (declared && declared !== header.mime) {
    throw invalid(
      415,
      `The data URL says ${declared} but the bytes are ${header.mime}; fix the content type.`,
      "unsupported_media_type",
    );
  }
  const { width, height } = header;
  if (width < 1 || height < 1) {
    throw invalid(400, `Image has an empty size ${width}x${height}.`, "invalid_image");
  }
  if (width > limits.maxImageSide || height > limits.maxImageSide || width * height > limits.maxImagePixels) {
    throw invalid(
      413,
      `Image header claims ${width}x${height} pixels; the limit is ${limits.maxImagePixels} pixels and ` +
        `${limits.maxImageSide} per side. Downscale it before sending.`,
      "image_too_large",
    );
  }
  const decoded = decodedImageBytes(header);
  if (decoded > limits.maxImageDecodedBytes) {
    throw invalid(
      413,
      `Image header claims ${width}x${height} with ${header.palette ? "a palette" : `${header.channels} channel(s)`} ` +
        `at ${header.bitDepth} bits, ${decoded} bytes decoded; the limit is ${limits.maxImageDecodedBytes} bytes. ` +
        "Send an 8-bit image or downscale it.",
      "image_too_large",
    );
  }
  if (Math.max(width, height) / Math.min(width, height) > 200) {
    throw invalid(
      400,
      `Image is ${width}x${height}; the model's preprocessing accepts aspect ratios up to 200:1.`,
      "invalid_image",
    );
  }
  return { ...header, bytes };
}
