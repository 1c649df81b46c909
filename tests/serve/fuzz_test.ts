/**
 * Hostile-input fuzzing over a real socket: 1200 seeded malformed bodies (bad JSON, wrong types, huge strings,
 * broken base64, non-image bytes, decompression-bomb headers, deep nesting, wrong content types, oversize bodies).
 * Every one must get a 4xx with an OpenAI-shaped error message, none may reach the engine, and /healthz must still
 * answer afterwards.
 */
import assert from "node:assert/strict";
import { StandInEngine } from "../../core/engine/stand_in.ts";
import { Rng } from "../../core/random.ts";
import { startServer } from "../../serve/server.ts";
import { chatBody, jpegBombHeader, makePng, pngBombHeader, pngDataUrl, toBase64 } from "./fixtures.ts";

interface Case {
  kind: string;
  path: string;
  body: string | Uint8Array;
  contentType: string;
}

const MAX_BODY = 256 * 1024;
const VALID_PNG = toBase64(makePng(6, 5));

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

function randomText(rng: Rng, n: number): string {
  const alphabet = 'abc{}[]":,\\/ 0123456789-+.eE\u0000\u00e9\u4e2d\ud83d\ude00tfnrul';
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[rng.int(alphabet.length)];
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
  return vals[rng.int(vals.length)];
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
  return kinds[rng.int(kinds.length)]();
}

function makeCase(rng: Rng, i: number): Case {
  const chat = "/v1/chat/completions";
  const vqa = "/v1/vqa";
  const json = "application/json";
  const valid = JSON.stringify(chatBody());
  const kind = i % 12;
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
      return { kind: "bad-json", path: rng.int(2) ? chat : vqa, body, contentType: json };
    }
    case 1: { // wrong types in chat bodies
      const fields = ["messages", "max_tokens", "temperature", "top_p", "seed", "stop", "stream", "model", "n", "user"];
      const b = chatBody() as Record<string, unknown>;
      b[fields[rng.int(fields.length)]] = wrongValue(rng);
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
      mut[rng.int(mut.length)]();
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
      return {
        kind: "content-type",
        path: rng.int(2) ? chat : vqa,
        body: valid,
        contentType: types[rng.int(types.length)],
      };
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
      const body = JSON.stringify({ messages: bad[rng.int(bad.length)] });
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
      return {
        kind: "not-object",
        path: rng.int(2) ? chat : vqa,
        body: bodies[rng.int(bodies.length)],
        contentType: json,
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
      return { kind: "limits", path: chat, body: JSON.stringify(cases[rng.int(cases.length)]), contentType: json };
    }
  }
}

Deno.test("1200 hostile bodies all get a 4xx with a message, none reaches the engine, /healthz still answers", async () => {
  const engine = new StandInEngine({ tokenDelayMs: 0 });
  const logged: string[] = [];
  const server = startServer(engine, { port: 0, limits: { maxBodyBytes: MAX_BODY }, log: (l) => logged.push(l) });
  try {
    const rng = new Rng(20261126);
    const cases = Array.from({ length: 1200 }, (_, i) => makeCase(rng, i));
    const failures: string[] = [];
    const kinds = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++];
        const headers: Record<string, string> = {};
        if (c.contentType) headers["content-type"] = c.contentType;
        const res = await fetch(`${server.url}${c.path}`, {
          method: "POST",
          headers,
          body: c.body as BodyInit,
        });
        const text = await res.text();
        let message = "";
        try {
          message = JSON.parse(text).error?.message ?? "";
        } catch { /* not JSON: counted as a failure below */ }
        if (res.status < 400 || res.status >= 500 || message.length < 5) {
          failures.push(
            `${c.kind} ${c.path} -> ${res.status} ${text.slice(0, 120)} body=${String(c.body).slice(0, 120)}`,
          );
        }
        kinds.set(`${c.kind}:${res.status}`, (kinds.get(`${c.kind}:${res.status}`) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    assert.deepEqual(failures, [], failures.slice(0, 10).join("\n"));
    assert.equal(engine.calls, 0, "no hostile body may reach the engine");
    assert.deepEqual(logged, [], "no server-side fault was logged");
    const statuses = new Set([...kinds.keys()].map((k) => Number(k.split(":")[1])));
    for (const s of [400, 404, 413, 415]) assert.ok(statuses.has(s), `fuzzing produced a ${s}`);
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    const ok = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(chatBody()),
    });
    assert.equal(ok.status, 200, "a valid request still works after the fuzzing");
    await ok.body?.cancel();
  } finally {
    await server.shutdown();
  }
});
