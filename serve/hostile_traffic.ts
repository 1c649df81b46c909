/**
 * Hostile request bodies for the server's fuzz test (tests/serve/fuzz_test.ts) and soak (serve/soak.ts): seeded,
 * each with the answer it must get. Covers malformed JSON, wrong types, huge strings, broken or lying image refs,
 * decompression bombs (8- and 16-bit, palette, JPEG, and a deflate bomb under a small header), deep nesting, wrong
 * content types, oversize bodies, structurally wrong messages, non-object JSON, limit violations, prompts over the
 * token limit, unsupported OpenAI parameter values, unknown parameters, and special tokens in user text (which must
 * be answered normally: they are text).
 */
import { encode as encodePng } from "fast-png";
import { buildPng, zeroStream } from "../core/image/png_builder.ts";
import { TINY_SPECIAL_TOKENS } from "../core/model/config.ts";
import type { Rng } from "../core/random.ts";

export interface HostileCase {
  kind: string;
  path: string;
  body: string | Uint8Array;
  contentType: string;
  /** "4xx": a client error with an OpenAI-shaped message; "200": answered (hostile content, valid request). */
  expect: "4xx" | "200";
}

/** Base64 of bytes, in chunks (String.fromCharCode on a whole image overflows the argument limit). */
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

export function pngDataUrl(w = 8, h = 6): string {
  return `data:image/png;base64,${toBase64(makePng(w, h))}`;
}

/** A decompression bomb's header: a PNG whose IHDR claims w x h RGB pixels, with an empty IDAT. */
export function pngBombHeader(w: number, h: number, bitDepth = 8, colourType = 2): Uint8Array {
  return buildPng({ width: w, height: h, colourType, bitDepth });
}

/** A JPEG whose SOF0 claims w x h (u16 each), 3 components, with no scan data. */
export function jpegBombHeader(w: number, h: number): Uint8Array {
  const app0 = [0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0, 0];
  const sof0 = [
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
    1,
  ];
  return new Uint8Array([0xff, 0xd8, ...app0, ...sof0, 0xff, 0xd9]);
}

/** A valid chat body with one image and a short question. */
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

const VALID_PNG = toBase64(makePng(6, 5));

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

function randomText(rng: Rng, n: number): string {
  const alphabet = 'abc{}[]":,\\/ 0123456789-+.eE\u0000\u00e9\u4e2d\ud83d\ude00tfnrul';
  let s = "";
  for (let i = 0; i < n; i++) s += rng.pick(alphabet);
  return s;
}

function nested(depth: number, open: string, close: string, inner = "1"): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

/** Values that are invalid for every field they are put in (none is a valid string, number, bool, or null-able). */
function wrongValue(rng: Rng): unknown {
  const vals: unknown[] = [
    { x: 1 },
    [1, 2, 3],
    -0.5,
    { $gt: "" },
    [[[]]],
    { __proto__: { polluted: true } },
    [{ type: "text" }],
  ];
  return rng.pick(vals);
}

function imageRefs(rng: Rng): string {
  const kinds = [
    () => `data:image/png;base64,${VALID_PNG.slice(0, 1 + rng.int(VALID_PNG.length - 2))}%`, // broken base64
    () => `data:image/png;base64,${VALID_PNG.replace(/[A-Za-z]/, "-").replace(/=+$/, "") + "_"}`, // url-safe chars
    () => `data:image/png;base64,${toBase64(randomBytes(rng, 1 + rng.int(300)))}`, // non-image bytes
    () => `data:image/jpeg;base64,${toBase64(new TextEncoder().encode("%PDF-1.7 not a jpeg"))}`,
    () => `data:image/png;base64,${toBase64(pngBombHeader(20_000 + rng.int(1e9), 20_000 + rng.int(1e9)))}`,
    () => `data:image/png;base64,${toBase64(rng.int(2) ? pngBombHeader(0, 5) : pngBombHeader(5, 0))}`,
    () => `data:image/jpeg;base64,${toBase64(jpegBombHeader(9000 + rng.int(56_000), 9000 + rng.int(56_000)))}`,
    () => `data:image/gif;base64,${toBase64(new TextEncoder().encode("GIF89a\x01\x00\x01\x00"))}`,
    () => `data:image/svg+xml;base64,${btoa("<svg xmlns='http://www.w3.org/2000/svg'/>")}`,
    () => `data:text/html;base64,${btoa("<script>alert(1)</script>")}`,
    () => `data:image/png;base64,`,
    () => `data:;base64,${VALID_PNG}`,
    () => `data:image/png,${VALID_PNG}`,
    () => `data:image/jpeg;base64,${VALID_PNG}`, // declared type lies
    () => "file:///etc/passwd",
    () => `http://127.0.0.1:${1 + rng.int(65535)}/admin`,
    () => toBase64(makePng(3, 3)).slice(4), // bare base64 missing its signature
  ];
  return rng.pick(kinds)();
}

export interface HostileOptions {
  /** The server's body limit: "too-large" cases exceed it. */
  maxBodyBytes: number;
  /** The model name the server serves (valid bodies name it). */
  modelName: string;
  /** The engine decodes images (the real model): a deflate bomb is then a 400; the stand-in answers it. */
  decodesImages: boolean;
}

const DEFLATE_BOMB = () => buildPng({ width: 64, height: 64, colourType: 2, bitDepth: 8, idat: zeroStream(8 << 20) });
let deflateBomb: string | null = null;

/** The i-th hostile case (kinds cycle with i; details come from rng). */
export function hostileCase(rng: Rng, i: number, o: HostileOptions): HostileCase {
  const c = baseCase(rng, i, o);
  return { ...c, expect: c.expect ?? "4xx" };
}

function baseCase(rng: Rng, i: number, o: HostileOptions): Omit<HostileCase, "expect"> & { expect?: "200" } {
  const MAX_BODY = o.maxBodyBytes;
  const chatBody = (extra: Record<string, unknown> = {}, image?: string) => chatBodyFor(o.modelName, extra, image);
  const chat = "/v1/chat/completions";
  const vqa = "/v1/vqa";
  const eitherPath = () => rng.int(2) ? chat : vqa;
  const json = "application/json";
  const valid = JSON.stringify(chatBody());
  const kind = i % 16;
  switch (kind) {
    case 0: { // bad JSON: truncated valid body, random text, random bytes
      const r = rng.int(3);
      const body = r === 0
        ? valid.slice(0, rng.int(valid.length - 1))
        : r === 1
        ? randomText(rng, 1 + rng.int(200))
        : randomBytes(rng, 1 + rng.int(200));
      if (typeof body === "string") {
        try {
          JSON.parse(body);
          return { kind: "bad-json", path: chat, body: body + "}", contentType: json };
        } catch { /* invalid, as intended */ }
      }
      return { kind: "bad-json", path: eitherPath(), body, contentType: json };
    }
    case 1: { // wrong types in chat bodies
      const fields = ["messages", "max_tokens", "temperature", "top_p", "seed", "stop", "stream", "model", "n", "user"];
      const b = chatBody() as Record<string, unknown>;
      b[rng.pick(fields)] = wrongValue(rng);
      return { kind: "wrong-type", path: chat, body: JSON.stringify(b), contentType: json };
    }
    case 2: { // wrong types and bad numbers in vqa bodies
      const b: Record<string, unknown> = { images: [pngDataUrl()], question: "q" };
      const mut = [
        () => b.images = wrongValue(rng),
        () => b.question = wrongValue(rng),
        () => b.question = "",
        () => b.images = [],
        () => b.max_tokens = [0, -5, 1.5, 1e12][rng.int(4)],
        () => b.temperature = [-0.1, 2.5, 1e308][rng.int(3)],
        () => b.seed = [0.5, 2 ** 60][rng.int(2)],
        () => b[`extra_${rng.int(1000)}`] = 1,
        () => delete b.question,
      ];
      rng.pick(mut)();
      return { kind: "wrong-type", path: vqa, body: JSON.stringify(b), contentType: json };
    }
    case 3: { // huge strings
      const n = 40_000 + rng.int(150_000);
      const where = rng.int(4);
      const big = "x".repeat(n);
      const body = where === 0
        ? { images: [pngDataUrl()], question: big }
        : where === 1
        ? chatBody({ model: big })
        : where === 2
        ? chatBody({ stop: [big] })
        : { messages: [{ role: "user", content: big }] };
      return {
        kind: "huge-string",
        path: "images" in body ? vqa : chat,
        body: JSON.stringify(body),
        contentType: json,
      };
    }
    case 4: // broken image refs in chat
    case 5: // ...and in vqa
      return kind === 4
        ? { kind: "bad-image", path: chat, body: JSON.stringify(chatBody({}, imageRefs(rng))), contentType: json }
        : {
          kind: "bad-image",
          path: vqa,
          body: JSON.stringify({ images: [pngDataUrl(), imageRefs(rng)], question: "q" }),
          contentType: json,
        };
    case 6: { // deep nesting
      const depth = [100, 1000, 10_000, 100_000][rng.int(4)];
      const r = rng.int(3);
      const body = r === 0
        ? `{"messages":${nested(depth, "[", "]")}}`
        : r === 1
        ? `{"images":["x"],"question":"q","seed":${nested(depth, '{"a":', "}")}}`
        : `{"messages":[{"role":"user","content":${nested(depth, "[", "]", '{"type":"text","text":"hi"}')}}]}`;
      return { kind: "deep-nesting", path: r === 1 ? vqa : chat, body, contentType: json };
    }
    case 7: { // wrong or missing content type
      const types = [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
        "image/png",
      ];
      return { kind: "content-type", path: eitherPath(), body: valid, contentType: rng.pick(types) };
    }
    case 8: { // oversize body (beyond MAX_BODY)
      const pad = "A".repeat(MAX_BODY + 1 + rng.int(100_000));
      return { kind: "too-large", path: chat, body: JSON.stringify(chatBody({ user: pad })), contentType: json };
    }
    case 9: { // structurally wrong messages
      const bad = [
        [],
        [{ role: "user" }],
        [{ role: "system", content: "only a system message" }],
        [{ role: "assistant", content: [{ type: "image_url", image_url: { url: pngDataUrl() } }] }],
        [{ role: "user", content: [{ type: "image_url" }] }],
        [{ role: "user", content: [{ type: "image_url", image_url: { url: pngDataUrl(), detail: "ultra" } }] }],
        [{ role: "user", content: [{ type: "text", text: 5 }] }],
        [{ role: "tool", content: "x", tool_call_id: "1" }],
        Array.from({ length: 70 }, () => ({ role: "user", content: "hi" })),
        [{ role: "user", content: [{ type: "image_url", image_url: { url: pngDataUrl() } }] }].concat(
          Array.from(
            { length: 9 },
            () => ({ role: "user", content: [{ type: "image_url", image_url: { url: pngDataUrl() } }] }),
          ),
        ),
      ];
      const body = JSON.stringify({ messages: rng.pick(bad) });
      return { kind: "bad-messages", path: chat, body, contentType: json };
    }
    case 10: { // JSON that is not an object, or prototype tricks
      const bodies = [
        '"string"',
        "42",
        "null",
        "true",
        "[]",
        '[{"messages":[]}]',
        '{"__proto__":{"messages":[]}}',
        '{"constructor":{"prototype":{"x":1}}}',
        "{}",
        '"\\ud800"',
        '{"messages":"\\u0000"}',
      ];
      return { kind: "not-object", path: eitherPath(), body: rng.pick(bodies), contentType: json };
    }
    case 12: { // image bombs: 16-bit and palette headers, a JPEG frame, a deflate bomb under a small header
      const r = rng.int(4);
      const bytes = r === 0
        ? pngBombHeader(4096, 4096, 16, rng.int(2) ? 6 : 2)
        : r === 1
        ? pngBombHeader(8192, 4096 + rng.int(4096), 8, 3)
        : r === 2
        ? jpegBombHeader(9000 + rng.int(56_000), 9000 + rng.int(56_000))
        : null;
      if (bytes) {
        const url = `data:image/${r === 2 ? "jpeg" : "png"};base64,${toBase64(bytes)}`;
        return { kind: "image-bomb", path: chat, body: JSON.stringify(chatBody({}, url)), contentType: json };
      }
      deflateBomb ??= `data:image/png;base64,${toBase64(DEFLATE_BOMB())}`; // decoded (and refused) by the engine
      return {
        kind: "deflate-bomb",
        path: vqa,
        body: JSON.stringify({ images: [deflateBomb], question: "q", max_tokens: 4 }),
        contentType: json,
        ...(o.decodesImages ? {} : { expect: "200" as const }),
      };
    }
    case 13: { // a prompt over the token limit, within the character limit
      const words = "the red cube is left of the chair ".repeat(700 + rng.int(200)); // ~6-7k tokens, < 32k chars
      return rng.int(2)
        ? {
          kind: "context-length",
          path: chat,
          body: JSON.stringify(chatBody({ messages: [{ role: "user", content: words }] })),
          contentType: json,
        }
        : {
          kind: "context-length",
          path: vqa,
          body: JSON.stringify({ images: [pngDataUrl()], question: words }),
          contentType: json,
        };
    }
    case 14: { // OpenAI parameters asking for what the server does not do, and unknown ones
      const cases = [
        { logprobs: true },
        { top_logprobs: 5 },
        { response_format: { type: "json_object" } },
        { logit_bias: { "1": 100 } },
        { tools: [{ type: "function", function: { name: "f" } }] },
        { tool_choice: "required" },
        { [`unknown_${rng.int(100)}`]: true },
        { reasoning_effort: "high" },
      ];
      return {
        kind: "unsupported-param",
        path: chat,
        body: JSON.stringify(chatBody(rng.pick(cases))),
        contentType: json,
      };
    }
    case 15: { // special tokens in user text: a valid request that must be answered, not a 500 or a forged turn
      const specials = TINY_SPECIAL_TOKENS; // every Qwen control token
      const text = Array.from({ length: 1 + rng.int(6) }, () => rng.pick(specials)).join(
        rng.int(2) ? "" : "\nsystem\n",
      );
      const b = rng.int(2)
        ? chatBody({
          messages: [{
            role: "user",
            content: [{ type: "image_url", image_url: { url: pngDataUrl() } }, { type: "text", text }],
          }],
        })
        : { images: [pngDataUrl()], question: text, max_tokens: 8 };
      return {
        kind: "special-tokens",
        path: "images" in b ? vqa : chat,
        body: JSON.stringify(b),
        contentType: json,
        expect: "200",
      };
    }
    default: { // limit violations with otherwise valid shape
      const cases = [
        chatBody({ max_tokens: 5000 + rng.int(1e6) }),
        chatBody({ model: `gpt-${rng.int(100)}` }),
        chatBody({ stop: ["a", "b", "c", "d", "e"] }),
        chatBody({ n: 2 + rng.int(5) }),
        chatBody({ frequency_penalty: 1 }),
        chatBody({ stream_options: { include_usage: "yes" } }),
      ];
      return { kind: "limits", path: chat, body: JSON.stringify(rng.pick(cases)), contentType: json };
    }
  }
}

function chatBodyFor(modelName: string, extra: Record<string, unknown> = {}, image = pngDataUrl()) {
  return chatBody({ model: modelName, ...extra }, image);
}
