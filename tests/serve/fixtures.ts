/** Shared test inputs for the server tests: real PNG/JPEG files, hostile headers, request helpers. */
import jpeg from "jpeg-js";

export { chatBody, jpegBombHeader, makePng, pngBombHeader, pngDataUrl, toBase64 } from "../../serve/hostile_traffic.ts";
import type { Hono } from "hono";

/** A real w x h baseline JPEG. */
export function makeJpeg(w: number, h: number): Uint8Array {
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([(i * 5) & 255, 120, (i * 11) & 255, 255], i * 4);
  return new Uint8Array(jpeg.encode({ width: w, height: h, data }, 80).data);
}

export function jsonPost(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
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
