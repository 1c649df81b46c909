/** Shared test inputs for the server tests: real PNG/JPEG files, hostile headers, request helpers. */
import { encode as encodePng } from "fast-png";
import jpeg from "jpeg-js";
import type { Hono } from "hono";

export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** A real w x h RGB PNG with a gradient. */
export function makePng(w: number, h: number): Uint8Array {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set([(i * 7) & 255, (i * 3) & 255, 90], i * 3);
  return encodePng({ width: w, height: h, data, channels: 3 });
}

/** A real w x h baseline JPEG. */
export function makeJpeg(w: number, h: number): Uint8Array {
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([(i * 5) & 255, 120, (i * 11) & 255, 255], i * 4);
  return new Uint8Array(jpeg.encode({ width: w, height: h, data }, 80).data);
}

export function pngDataUrl(w = 8, h = 6): string {
  return `data:image/png;base64,${toBase64(makePng(w, h))}`;
}

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A decompression bomb's header: a valid PNG signature and IHDR claiming w x h pixels, followed by a tiny IDAT
 * (a real bomb would deflate to w*h*3 bytes). Only the header is needed to refuse it.
 */
export function pngBombHeader(w: number, h: number): Uint8Array {
  const out = new Uint8Array(8 + 25 + 12 + 12);
  out.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const v = new DataView(out.buffer);
  v.setUint32(8, 13);
  out.set([0x49, 0x48, 0x44, 0x52], 12); // IHDR
  v.setUint32(16, w >>> 0);
  v.setUint32(20, h >>> 0);
  out.set([8, 2, 0, 0, 0], 24);
  v.setUint32(29, crc32(out.subarray(12, 29)));
  v.setUint32(33, 0);
  out.set([0x49, 0x44, 0x41, 0x54], 37); // IDAT, empty
  v.setUint32(41, crc32(out.subarray(37, 41)));
  v.setUint32(45, 0);
  out.set([0x49, 0x45, 0x4e, 0x44], 49); // IEND
  v.setUint32(53, crc32(out.subarray(49, 53)));
  return out;
}

/** A JPEG whose SOF0 claims w x h (u16 each) with no scan data. */
export function jpegBombHeader(w: number, h: number): Uint8Array {
  return new Uint8Array([
    0xff,
    0xd8, // SOI
    0xff,
    0xe0,
    0x00,
    0x10,
    0x4a,
    0x46,
    0x49,
    0x46,
    0x00,
    0x01,
    0x01,
    0x00,
    0x00,
    0x01,
    0x00,
    0x01,
    0x00,
    0x00, // APP0
    0xff,
    0xc0,
    0x00,
    0x11,
    0x08,
    h >> 8,
    h & 255,
    w >> 8,
    w & 255,
    0x03,
    1,
    0x22,
    0,
    2,
    0x11,
    1,
    3,
    0x11,
    1, // SOF0
    0xff,
    0xd9, // EOI
  ]);
}

export function jsonPost(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

export function chatBody(extra: Record<string, unknown> = {}, image = pngDataUrl()): Record<string, unknown> {
  return {
    model: "gasp-stand-in",
    messages: [{
      role: "user",
      content: [{ type: "image_url", image_url: { url: image } }, { type: "text", text: "Which cube is closer?" }],
    }],
    max_tokens: 8,
    ...extra,
  };
}

export interface OpenAiError {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export async function errorOf(res: Response): Promise<OpenAiError["error"]> {
  const json = await res.json() as OpenAiError;
  return json.error;
}

export async function appRequest(app: Hono, path: string, init?: RequestInit): Promise<Response> {
  return await app.request(path, init);
}

/** Parses an SSE body into its `data:` payloads, checking the framing (every event ends with a blank line). */
export function sseData(text: string): string[] {
  if (!text.endsWith("\n\n")) {
    throw new Error(`SSE body does not end with a blank line: ${JSON.stringify(text.slice(-40))}`);
  }
  return text.slice(0, -2).split("\n\n").map((ev) => {
    if (!ev.startsWith("data: ") || ev.includes("\n")) throw new Error(`bad SSE event: ${JSON.stringify(ev)}`);
    return ev.slice(6);
  });
}
