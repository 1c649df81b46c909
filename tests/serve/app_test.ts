/** The app without a socket: every endpoint and every error status through app.request. */
import assert from "node:assert/strict";
import { StandInEngine } from "../../core/engine/stand_in.ts";
import { DataFormatError, ShapeMismatchError } from "../../core/errors.ts";
import { appState, createApp } from "../../serve/app.ts";
import { chatBody, errorOf, jsonPost, makeJpeg, pngBombHeader, pngDataUrl, sseData, toBase64 } from "./fixtures.ts";

const quiet = { log: () => {} };

Deno.test("GET /healthz is 503 while the engine loads and 200 once it is ready", async () => {
  const engine = new StandInEngine({ loadDelayMs: 60_000 });
  const app = createApp(engine, quiet);
  const loading = await app.request("/healthz");
  assert.equal(loading.status, 503);
  assert.equal((await loading.json()).status, "loading");
  const chat = await app.request("/v1/chat/completions", jsonPost(chatBody()));
  assert.equal(chat.status, 503);
  assert.equal((await errorOf(chat)).type, "service_unavailable");
  engine.finishLoading();
  const ok = await app.request("/healthz");
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).status, "ok");
});

Deno.test("GET /v1/models lists the engine's model and /v1/models/:id 404s for others", async () => {
  const app = createApp(new StandInEngine(), quiet);
  const res = await app.request("/v1/models");
  assert.equal(res.status, 200);
  const json = await res.json();
  assert.equal(json.object, "list");
  assert.deepEqual(json.data.map((m: { id: string }) => m.id), ["gasp-stand-in"]);
  assert.equal((await app.request("/v1/models/gasp-stand-in")).status, 200);
  const missing = await app.request("/v1/models/gpt-4o");
  assert.equal(missing.status, 404);
  assert.equal((await errorOf(missing)).code, "model_not_found");
});

Deno.test("POST /v1/vqa answers with usage and timing, reading image sizes from headers", async () => {
  const app = createApp(new StandInEngine({ tokenDelayMs: 0 }), quiet);
  const jpg = `data:image/jpeg;base64,${toBase64(makeJpeg(20, 10))}`;
  const res = await app.request("/v1/vqa", jsonPost({ images: [pngDataUrl(8, 6), jpg], question: "What is left?" }));
  assert.equal(res.status, 200);
  const json = await res.json();
  assert.match(json.answer, /2 image\(s\) \(8x6 png, 20x10 jpeg\)/);
  assert.match(json.answer, /What is left\?/);
  assert.ok(json.usage.prompt_tokens > 0 && json.usage.completion_tokens > 0);
  assert.equal(typeof json.timing_ms, "number");
});

Deno.test("POST /v1/chat/completions (JSON) returns an OpenAI chat.completion", async () => {
  const app = createApp(new StandInEngine({ tokenDelayMs: 0 }), quiet);
  const res = await app.request("/v1/chat/completions", jsonPost(chatBody({ max_tokens: 4, seed: 3 })));
  assert.equal(res.status, 200);
  const json = await res.json();
  assert.equal(json.object, "chat.completion");
  assert.equal(json.model, "gasp-stand-in");
  assert.equal(json.choices[0].message.role, "assistant");
  assert.equal(json.choices[0].finish_reason, "length");
  assert.equal(json.usage.completion_tokens, 4);
  assert.equal(json.usage.total_tokens, json.usage.prompt_tokens + 4);
  const stopped = await app.request("/v1/chat/completions", jsonPost(chatBody({ max_tokens: 200, stop: ["image"] })));
  const sj = await stopped.json();
  assert.equal(sj.choices[0].finish_reason, "stop");
  assert.ok(!sj.choices[0].message.content.includes("image"));
});

Deno.test("streamed chat completion is SSE: role chunk, content chunks, finish chunk, usage, then data: [DONE]", async () => {
  const app = createApp(new StandInEngine({ tokenDelayMs: 0 }), quiet);
  const res = await app.request(
    "/v1/chat/completions",
    jsonPost(chatBody({ stream: true, max_tokens: 5, stream_options: { include_usage: true } })),
  );
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
  const events = sseData(await res.text());
  assert.equal(events.at(-1), "[DONE]");
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
  assert.ok(chunks.every((c) => c.object === "chat.completion.chunk" && c.id === chunks[0].id));
  assert.deepEqual(chunks[0].choices[0].delta, { role: "assistant", content: "" });
  const content = chunks.slice(1, 6).map((c) => c.choices[0].delta.content);
  assert.equal(content.length, 5);
  assert.ok(content.every((t) => typeof t === "string" && t.length > 0));
  assert.equal(chunks[6].choices[0].finish_reason, "length");
  assert.deepEqual(chunks[7].choices, []);
  assert.equal(chunks[7].usage.completion_tokens, 5);
});

Deno.test("auth: 401 in OpenAI shape without or with a wrong key, 200 with the right one; /healthz stays open", async () => {
  const app = createApp(new StandInEngine({ tokenDelayMs: 0 }), { ...quiet, apiKey: "s3cret-key" });
  const none = await app.request("/v1/models");
  assert.equal(none.status, 401);
  assert.match(none.headers.get("www-authenticate")!, /Bearer/);
  const e = await errorOf(none);
  assert.equal(e.type, "authentication_error");
  assert.match(e.message, /Authorization: Bearer/);
  assert.equal((await app.request("/v1/models", { headers: { authorization: "Bearer s3cret-kez" } })).status, 401);
  assert.equal((await app.request("/v1/models", { headers: { authorization: "Basic s3cret-key" } })).status, 401);
  assert.equal((await app.request("/v1/models", { headers: { authorization: "Bearer s3cret-key" } })).status, 200);
  const chat = await app.request("/v1/chat/completions", jsonPost(chatBody(), { authorization: "Bearer s3cret-key" }));
  assert.equal(chat.status, 200);
  assert.equal((await app.request("/healthz")).status, 200);
});

Deno.test("413 for a body over the limit, whether declared by Content-Length or streamed without one", async () => {
  const app = createApp(new StandInEngine(), { ...quiet, limits: { maxBodyBytes: 1000 } });
  const big = JSON.stringify(chatBody({ user: "x".repeat(2000) }));
  const declared = await app.request("/v1/chat/completions", jsonPost(big));
  assert.equal(declared.status, 413);
  assert.equal((await errorOf(declared)).code, "request_too_large");
  const stream = new ReadableStream({
    start(c) {
      for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode(big.slice(i * 300, (i + 1) * 300)));
      c.close();
    },
  });
  const chunked = await app.request("/v1/vqa", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: stream,
  });
  assert.equal(chunked.status, 413);
});

Deno.test("413 for a decompression-bomb image, too much text, or too many pixels", async () => {
  const app = createApp(new StandInEngine(), quiet);
  const bomb = `data:image/png;base64,${toBase64(pngBombHeader(50_000, 50_000))}`;
  const res = await app.request("/v1/vqa", jsonPost({ images: [bomb], question: "q" }));
  assert.equal(res.status, 413);
  const e = await errorOf(res);
  assert.equal(e.code, "image_too_large");
  assert.equal(e.param, "images[0]");
  const long = await app.request("/v1/vqa", jsonPost({ images: [pngDataUrl()], question: "q".repeat(40_000) }));
  assert.equal(long.status, 413);
});

Deno.test("415 for a non-JSON content type, non-image bytes and a data URL type that disagrees with the bytes", async () => {
  const app = createApp(new StandInEngine(), quiet);
  const form = await app.request("/v1/vqa", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" });
  assert.equal(form.status, 415);
  const text = `data:image/png;base64,${btoa("definitely not a png file")}`;
  const r1 = await app.request("/v1/vqa", jsonPost({ images: [text], question: "q" }));
  assert.equal(r1.status, 415);
  assert.equal((await errorOf(r1)).code, "unsupported_media_type");
  const lie = pngDataUrl().replace("image/png", "image/jpeg");
  assert.equal((await app.request("/v1/chat/completions", jsonPost(chatBody({}, lie)))).status, 415);
  const gif = pngDataUrl().replace("image/png", "image/gif");
  assert.equal((await app.request("/v1/chat/completions", jsonPost(chatBody({}, gif)))).status, 415);
});

Deno.test("400 with the offending param for bad JSON, unknown keys, wrong types, too many images or tokens", async () => {
  const app = createApp(new StandInEngine(), { ...quiet, limits: { maxImages: 2, maxTokens: 64 } });
  const cases: [unknown, string | null][] = [
    ["{not json", null],
    [chatBody({ max_token: 5 }), null],
    [chatBody({ temperature: "hot" }), "temperature"],
    [chatBody({ top_p: 0 }), "top_p"],
    [chatBody({ max_tokens: 65 }), "max_tokens"],
    [chatBody({ n: 2 }), "n"],
    [{ messages: [] }, "messages"],
    [{ messages: [{ role: "robot", content: "hi" }] }, "messages[0].role"],
    [{ messages: [{ role: "user", content: [{ type: "audio", data: "x" }] }] }, "messages[0].content"],
    [{ images: [pngDataUrl(), pngDataUrl(), pngDataUrl()], question: "q" }, "images"],
    [{ images: ["data:image/png;base64,%%%"], question: "q" }, "images[0]"],
    [{ images: ["http://example.com/x.png"], question: "q" }, "images[0]"],
  ];
  for (const [body, param] of cases) {
    const path = typeof body === "object" && body !== null && "images" in body ? "/v1/vqa" : "/v1/chat/completions";
    const res = await app.request(path, jsonPost(body as Record<string, unknown>));
    assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
    const e = await errorOf(res);
    assert.equal(e.type, "invalid_request_error");
    assert.ok(e.message.length > 10);
    if (param) assert.ok(e.param?.startsWith(param), `param ${e.param} for ${JSON.stringify(body).slice(0, 60)}`);
  }
});

Deno.test("404 in OpenAI shape for an unknown model in a chat request and for unknown routes", async () => {
  const app = createApp(new StandInEngine(), quiet);
  const res = await app.request("/v1/chat/completions", jsonPost(chatBody({ model: "gpt-4o" })));
  assert.equal(res.status, 404);
  assert.equal((await errorOf(res)).code, "model_not_found");
  const nf = await app.request("/v2/whatever");
  assert.equal(nf.status, 404);
  assert.equal((await errorOf(nf)).type, "not_found_error");
});

Deno.test("429 with Retry-After when the queue is full", async () => {
  const app = createApp(new StandInEngine({ tokenDelayMs: 20 }), {
    ...quiet,
    queue: { maxWaiting: 1, retryAfterS: 2 },
  });
  const running = app.request("/v1/chat/completions", jsonPost(chatBody({ max_tokens: 5 })));
  const waiting = app.request("/v1/chat/completions", jsonPost(chatBody({ max_tokens: 5 })));
  const queue = appState(app).queue;
  while (queue.stats().running + queue.stats().waiting < 2) await new Promise((r) => setTimeout(r, 2));
  const refused = await app.request("/v1/chat/completions", jsonPost(chatBody({ stream: true })));
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("retry-after"), "2");
  assert.equal((await errorOf(refused)).type, "rate_limit_error");
  assert.equal((await running).status, 200);
  assert.equal((await waiting).status, 200);
});

Deno.test("a non-streaming request whose signal aborts (client gone) cancels its generation in the engine", async () => {
  // Over a real socket Deno 2.9 fires request.signal for a vanished client only for tiny bodies
  // (denoland/deno#21653), so this checks our wiring from the request's signal to the engine directly.
  const engine = new StandInEngine({ tokenDelayMs: 20 });
  const app = createApp(engine, quiet);
  const control = new AbortController();
  const req = new Request("http://local/v1/chat/completions", {
    ...jsonPost(chatBody({ max_tokens: 500 })),
    signal: control.signal,
  });
  const pending = Promise.resolve(app.request(req));
  while (engine.calls === 0) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 50));
  control.abort();
  await pending.catch(() => {});
  await appState(app).queue.idle();
  assert.equal(engine.abortsSeen, 1);
});

Deno.test("504 when a request exceeds the per-request timeout", async () => {
  const app = createApp(new StandInEngine({ tokenDelayMs: 30 }), { ...quiet, queue: { timeoutMs: 60 } });
  const res = await app.request("/v1/vqa", jsonPost({ images: [pngDataUrl()], question: "q", max_tokens: 50 }));
  assert.equal(res.status, 504);
  assert.equal((await errorOf(res)).type, "timeout_error");
});

Deno.test("onError maps named errors: DataFormatError -> 400, an unexpected engine error -> 500 without internals", async () => {
  const logged: string[] = [];
  const engine = new StandInEngine({
    fault: (r) => {
      const c = r.messages[0].content;
      const text = typeof c === "string" ? { type: "text" as const, text: c } : c.find((p) => p.type === "text");
      if (text?.type === "text" && text.text === "corrupt") return new DataFormatError("image 0", "IDAT", "zlib data");
      if (text?.type === "text" && text.text === "shape") return new ShapeMismatchError("matmul", "(2,3)x(4,5)");
      if (text?.type === "text" && text.text === "boom") return new TypeError("secret internal detail");
      return undefined;
    },
  });
  const app = createApp(engine, { log: (l) => logged.push(l) });
  const ask = (q: string) => app.request("/v1/vqa", jsonPost({ images: [pngDataUrl()], question: q }));
  const corrupt = await ask("corrupt");
  assert.equal(corrupt.status, 400);
  assert.match((await errorOf(corrupt)).message, /IDAT/);
  assert.equal((await ask("shape")).status, 500);
  const boom = await ask("boom");
  assert.equal(boom.status, 500);
  const e = await errorOf(boom);
  assert.equal(e.type, "server_error");
  assert.ok(!e.message.includes("secret"));
  assert.ok(logged.some((l) => l.includes("secret internal detail")));
});

Deno.test("GET /metrics is Prometheus text with requests by route/status, latency histogram, queue depth, tokens", async () => {
  const app = createApp(new StandInEngine({ tokenDelayMs: 0 }), quiet);
  await app.request("/v1/chat/completions", jsonPost(chatBody({ max_tokens: 3 })));
  await app.request("/v1/chat/completions", jsonPost("{bad"));
  await app.request("/nope/1");
  const res = await app.request("/metrics");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  assert.match(text, /gasp_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="200"\} 1/);
  assert.match(text, /gasp_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="400"\} 1/);
  assert.match(text, /gasp_http_requests_total\{route="other",method="GET",status="404"\} 1/);
  assert.match(text, /gasp_http_request_duration_seconds_bucket\{route="\/v1\/chat\/completions",le="\+Inf"\} 2/);
  assert.match(text, /gasp_queue_depth\{state="waiting"\} 0/);
  assert.match(text, /gasp_tokens_total\{kind="completion"\} 3/);
  assert.match(text, /gasp_generations_total\{finish_reason="length"\} 1/);
  for (const line of text.trim().split("\n")) {
    assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? [0-9.e+-]+)$/, line);
  }
  assert.equal(appState(app).metrics.requestCount("/v1/chat/completions"), 2);
});

Deno.test("GET / serves a self-contained page with a strict CSP that posts to the streaming chat endpoint", async () => {
  const app = createApp(new StandInEngine(), quiet);
  const res = await app.request("/");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /text\/html/);
  assert.match(res.headers.get("content-security-policy")!, /default-src 'none'/);
  const html = await res.text();
  assert.match(html, /\/v1\/chat\/completions/);
  assert.match(html, /stream: true/);
  assert.match(html, /Stand-in engine/);
  assert.ok(!/(src|href)="https?:/.test(html), "no external resources");
});

Deno.test("CORS is off by default and on only for the configured origins", async () => {
  const off = createApp(new StandInEngine(), quiet);
  const r1 = await off.request("/v1/models", { headers: { origin: "https://evil.example" } });
  assert.equal(r1.headers.get("access-control-allow-origin"), null);
  const on = createApp(new StandInEngine(), { ...quiet, corsOrigins: ["https://app.example"] });
  const r2 = await on.request("/v1/models", { headers: { origin: "https://app.example" } });
  assert.equal(r2.headers.get("access-control-allow-origin"), "https://app.example");
});

Deno.test("while draining for shutdown /healthz is 503 draining and new generations get 503 with Retry-After", async () => {
  const app = createApp(new StandInEngine(), quiet);
  appState(app).queue.close();
  const h = await app.request("/healthz");
  assert.equal(h.status, 503);
  assert.equal((await h.json()).status, "draining");
  const res = await app.request("/v1/chat/completions", jsonPost(chatBody()));
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "1");
  assert.match((await errorOf(res)).message, /shutting down/);
});
