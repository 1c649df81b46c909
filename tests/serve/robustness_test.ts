/**
 * The failures issue 15 found by probing, each as a test on the stand-in engine (fast; the real model's side is in
 * real_engine_test.ts, event_loop_test.ts and tests/core/engine/worker_engine_test.ts): token-aware limits, empty
 * API keys, shutdown with a queue, client aborts during upload, slow request heads, a degraded engine; and issue
 * 17's server items: benign OpenAI parameters, /openapi.json from the zod schemas, /docs, the untrained banner.
 */
import assert from "node:assert/strict";
import { StandInEngine } from "../../core/engine/stand_in.ts";
import type { EngineStatus } from "../../core/engine/types.ts";
import { ConfigError } from "../../core/errors.ts";
import { appState, createApp } from "../../serve/app.ts";
import {
  chatCompletionChunkSchema,
  chatCompletionResponseSchema,
  errorResponseSchema,
  healthResponseSchema,
  vqaResponseSchema,
} from "../../serve/openapi.ts";
import { startServer } from "../../serve/server.ts";
import { buildPng, zeroStream } from "../../core/image/png_builder.ts";
import { chatBody, errorOf, jsonPost, pngDataUrl, sseData, toBase64 } from "./fixtures.ts";

const quiet = { log: () => {} };

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Writes `text` on a raw TCP connection and returns everything the server sends back until it closes. */
async function rawExchange(port: number, parts: { text: string; pauseMs?: number }[], readMs = 5000): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    for (const p of parts) {
      if (p.pauseMs) await new Promise((r) => setTimeout(r, p.pauseMs));
      await c.write(new TextEncoder().encode(p.text)).catch(() => 0);
    }
    let out = "";
    const buf = new Uint8Array(4096);
    const deadline = new Promise<"t">((r) => setTimeout(r, readMs, "t"));
    while (true) {
      const n = await Promise.race([c.read(buf).catch(() => null), deadline]);
      if (n === "t" || n === null) break;
      out += new TextDecoder().decode(buf.subarray(0, n));
    }
    return out;
  } finally {
    try {
      c.close();
    } catch { /* closed by the server */ }
  }
}

Deno.test("prompt tokens are counted before queueing: 400 context_length_exceeded for text or images", async () => {
  const engine = new StandInEngine({ tokenDelayMs: 0, contextTokens: 1000 });
  const app = createApp(engine, { ...quiet, limits: { maxPromptTokens: 300 } });
  // 1600 characters = 400 stand-in tokens > --max-prompt-tokens 300
  const long = await app.request(
    "/v1/chat/completions",
    jsonPost(chatBody({ messages: [{ role: "user", content: "a".repeat(1600) }] })),
  );
  assert.equal(long.status, 400);
  const e = await errorOf(long);
  assert.deepEqual([e.code, e.param, e.type], ["context_length_exceeded", "messages", "invalid_request_error"]);
  assert.match(e.message, /maximum prompt length on this server \(--max-prompt-tokens\) is 300 tokens.*403 tokens/);
  // 5 images x 64 vision tokens = 320 > 300, though the text is short
  const images = Array.from({ length: 5 }, () => ({ type: "image_url", image_url: { url: pngDataUrl() } }));
  const many = await app.request(
    "/v1/chat/completions",
    jsonPost({ messages: [{ role: "user", content: [...images, { type: "text", text: "hi" }] }] }),
  );
  assert.equal((await errorOf(many)).code, "context_length_exceeded");
  // prompt + max_tokens over the model's context of 1000
  const vqa = await app.request(
    "/v1/vqa",
    jsonPost({ images: [pngDataUrl()], question: "q".repeat(800), max_tokens: 900 }),
  );
  assert.equal(vqa.status, 400);
  assert.match(
    (await errorOf(vqa)).message,
    /maximum context length is 1000 tokens.*\(\d+ in the messages, 900 in the completion\)/,
  );
  assert.equal(engine.calls, 0, "nothing over the limit reached the engine");
  // without max_tokens the completion is capped to what the context has left instead
  const capped = await app.request(
    "/v1/chat/completions",
    jsonPost({ messages: [{ role: "user", content: "b".repeat(1100) }] }),
  );
  assert.equal(capped.status, 200);
  const j = await capped.json();
  assert.ok(j.usage.prompt_tokens + j.usage.completion_tokens <= 1000);
  assert.equal((await (await app.request("/healthz")).json()).max_prompt_tokens, 300);
});

Deno.test("an empty API key is a ConfigError telling to omit it, for createApp and startServer alike", () => {
  for (const apiKey of ["", "   "]) {
    assert.throws(
      () => createApp(new StandInEngine(), { apiKey }),
      (e) => e instanceof ConfigError && /omit/.test(e.message),
    );
    assert.throws(() => startServer(new StandInEngine(), { apiKey, port: 0 }), ConfigError);
  }
});

Deno.test('deno task serve refuses --api-key "" and GASP_API_KEY="" with one line and exit 2', async () => {
  for (const [args, env] of [[["--api-key", ""], {}], [[], { GASP_API_KEY: "" }]] as const) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "tasks/serve.ts", "--port", "0", "--stand-in", ...args],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr).trim();
    assert.equal(out.code, 2, err);
    assert.equal(err.split("\n").length, 1, err);
    assert.match(err, /empty; omit the flag \(and unset GASP_API_KEY\) to run without auth/);
  }
});

Deno.test("shutdown: queued requests get 503 + Retry-After at once, the running stream is cancelled after the grace", async () => {
  const engine = new StandInEngine({ tokenDelayMs: 20 });
  const server = startServer(engine, { port: 0, graceMs: 300, log: () => {} });
  const post = (body: Record<string, unknown>) => fetch(`${server.url}/v1/chat/completions`, jsonPost(chatBody(body)));
  const running = await post({ stream: true, max_tokens: 1000 });
  assert.equal(running.status, 200);
  const runningText = running.text();
  await waitFor(() => server.queue.stats().running === 1);
  const queued = [post({ stream: true, max_tokens: 5 }), post({ max_tokens: 5 }), post({ stream: true })];
  await waitFor(() => server.queue.stats().waiting === 3);
  const t0 = performance.now();
  const done = server.shutdown();
  const refused = await Promise.all(queued);
  assert.ok(performance.now() - t0 < 250, "queued requests are answered before the grace period ends");
  for (const r of refused) {
    assert.equal(r.status, 503);
    assert.equal(r.headers.get("retry-after"), "1");
    const e = errorResponseSchema.parse(await r.json()).error;
    assert.match(e.message, /shutting down; this request was not started/);
  }
  const events = sseData(await runningText);
  assert.equal(events.at(-1), "[DONE]");
  const last = chatCompletionChunkSchema.parse(JSON.parse(events.at(-2)!));
  assert.equal(last.choices[0].finish_reason, "cancelled", "a cancelled stream does not claim it stopped");
  await done;
  assert.equal(engine.abortsSeen, 1);
});

Deno.test("a client that aborts its upload is a 499 (client error) in the metrics, never a 500, and nothing is logged", async () => {
  const logged: string[] = [];
  const engine = new StandInEngine({ tokenDelayMs: 0 });
  const server = startServer(engine, { port: 0, log: (l) => logged.push(l) });
  try {
    const metrics = server.metrics;
    for (let i = 0; i < 3; i++) {
      await rawExchange(server.addr.port, [{
        text: "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
          `Content-Length: 100000\r\n\r\n{"messages":[{"role":"user","content":"${"a".repeat(5000)}`,
      }], 300);
    }
    await waitFor(() => metrics.requestCount("/v1/chat/completions", 499) === 3);
    assert.equal(metrics.requestCount("/v1/chat/completions", 500), 0);
    assert.deepEqual(logged, []);
    assert.equal(engine.calls, 0);
  } finally {
    await server.shutdown();
  }
});

Deno.test("slow request heads get 408 at the header deadline; many of them do not block a normal request", async () => {
  const server = startServer(new StandInEngine({ tokenDelayMs: 0 }), { port: 0, headerTimeoutMs: 400, log: () => {} });
  try {
    const port = server.addr.port;
    const t0 = performance.now();
    const slow = rawExchange(port, [
      { text: "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" },
      { text: "Content-Type: application/json\r\n", pauseMs: 200 },
      { text: "X-Slow: 1\r\n", pauseMs: 300 }, // the head is still not complete after 400 ms
    ]);
    const idle = Array.from({ length: 40 }, () => rawExchange(port, [{ text: "" }]));
    // while 41 slow connections are open, a normal request goes through at once
    const ok = await fetch(`${server.url}/healthz`);
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const answer = await slow;
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout/);
    assert.match(answer, /"code":"header_timeout"/);
    const ms = performance.now() - t0;
    assert.ok(ms >= 380 && ms < 3000, `closed after ${ms.toFixed(0)} ms`);
    for (const a of await Promise.all(idle)) assert.match(a, /^HTTP\/1\.1 408/);
    assert.equal(server.guard.refused.headerTimeout, 41);
    const huge = await rawExchange(port, [{
      text: `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(70_000)}`,
    }]);
    assert.match(huge, /^HTTP\/1\.1 431/);
    // a keep-alive client still gets every answer: each request gets its own connection and deadline
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${server.url}/v1/models`)).status, 200);
  } finally {
    await server.shutdown();
  }
});

class StatusEngine extends StandInEngine {
  current: EngineStatus = "ok";
  override status(): EngineStatus {
    return this.current;
  }
  override ready(): boolean {
    return this.current === "ok";
  }
}

Deno.test("/healthz reports degraded (503) while the engine recovers, and work gets 503 with Retry-After", async () => {
  const engine = new StatusEngine({ tokenDelayMs: 0 });
  const app = createApp(engine, quiet);
  for (const s of ["degraded", "failed"] as const) {
    engine.current = s;
    const h = await app.request("/healthz");
    assert.equal(h.status, 503);
    assert.equal(healthResponseSchema.parse(await h.json()).status, s);
    const r = await app.request("/v1/chat/completions", jsonPost(chatBody()));
    assert.equal(r.status, 503);
    assert.equal(r.headers.get("retry-after"), "1");
  }
  engine.current = "ok";
  assert.equal((await app.request("/healthz")).status, 200);
  assert.equal((await app.request("/v1/chat/completions", jsonPost(chatBody()))).status, 200);
});

Deno.test("image bombs: 16-bit and palette headers are 413 before queueing; a deflate bomb within them is queued", async () => {
  const app = createApp(new StandInEngine({ tokenDelayMs: 0 }), quiet);
  const deep = toBase64(buildPng({ width: 4096, height: 4096, colourType: 6, bitDepth: 16 }));
  const r16 = await app.request("/v1/vqa", jsonPost({ images: [deep], question: "q" }));
  assert.equal(r16.status, 413);
  assert.match((await errorOf(r16)).message, /4096x4096 with 4 channel\(s\) at 16 bits/);
  const palette = toBase64(buildPng({ width: 8192, height: 4096, colourType: 3, bitDepth: 8 }));
  assert.equal((await app.request("/v1/vqa", jsonPost({ images: [palette], question: "q" }))).status, 413);
  // a deflate bomb under a 64x64 header passes every header check; the stand-in never decodes it, the real
  // engine's decoder refuses it with a 400 (real_engine_test.ts)
  const bomb = toBase64(buildPng({ width: 64, height: 64, colourType: 2, bitDepth: 8, idat: zeroStream(1 << 20) }));
  assert.equal((await app.request("/v1/vqa", jsonPost({ images: [bomb], question: "q" }))).status, 200);
});

Deno.test("benign OpenAI parameters are accepted; ones asking for unsupported behaviour are 400 naming them", async () => {
  const app = createApp(new StandInEngine({ tokenDelayMs: 0 }), quiet);
  const benign = {
    logprobs: false,
    top_logprobs: 0,
    response_format: { type: "text" },
    store: false,
    metadata: { run: "eval-7" },
    logit_bias: {},
    tools: [],
    tool_choice: "none",
    parallel_tool_calls: false,
    service_tier: "auto",
    modalities: ["text"],
    safety_identifier: "u1",
    prompt_cache_key: "k",
    n: 1,
    frequency_penalty: 0,
    presence_penalty: 0,
  };
  const ok = await app.request("/v1/chat/completions", jsonPost(chatBody(benign)));
  assert.equal(ok.status, 200, JSON.stringify(await ok.clone().json()));
  chatCompletionResponseSchema.parse(await ok.json());
  const refused: [Record<string, unknown>, string][] = [
    [{ logprobs: true }, "logprobs"],
    [{ top_logprobs: 3 }, "top_logprobs"],
    [{ response_format: { type: "json_object" } }, "response_format"],
    [{ response_format: { type: "json_schema", json_schema: { name: "x" } } }, "response_format"],
    [{ logit_bias: { "42": 10 } }, "logit_bias"],
    [{ tools: [{ type: "function", function: { name: "f" } }] }, "tools"],
    [{ tool_choice: "required" }, "tool_choice"],
    [{ modalities: ["text", "audio"] }, "modalities"],
    [{ service_tier: "flex" }, "service_tier"],
  ];
  for (const [extra, param] of refused) {
    const r = await app.request("/v1/chat/completions", jsonPost(chatBody(extra)));
    assert.equal(r.status, 400, param);
    const e = await errorOf(r);
    assert.deepEqual([e.param, e.code], [param, "unsupported_parameter"]);
  }
  const unknown = await app.request(
    "/v1/chat/completions",
    jsonPost(chatBody({ reasoning_effort: "high", max_token: 5 })),
  );
  assert.equal(unknown.status, 400);
  assert.match((await errorOf(unknown)).message, /Unrecognized parameter\(s\): reasoning_effort, max_token/);
});

Deno.test("/openapi.json is generated from the zod schemas; /docs renders it; responses match the schemas", async () => {
  const app = createApp(new StandInEngine({ tokenDelayMs: 0 }), { ...quiet, apiKey: "k" });
  const doc = await (await app.request("/openapi.json")).json();
  assert.equal(doc.openapi, "3.1.0");
  for (const p of ["/v1/chat/completions", "/v1/vqa", "/v1/models", "/v1/models/{id}", "/healthz", "/metrics"]) {
    assert.ok(doc.paths[p], `documents ${p}`);
  }
  const chatReq = doc.components.schemas.ChatCompletionRequest;
  assert.equal(chatReq.additionalProperties, false, "unknown keys are refused, and the document says so");
  for (const k of ["messages", "max_tokens", "stream", "logprobs", "response_format", "metadata"]) {
    assert.ok(chatReq.properties[k], `ChatCompletionRequest.${k}`);
  }
  assert.deepEqual(chatReq.required, ["messages"]);
  assert.equal(doc.components.schemas.VqaRequest.properties.question.minLength, 1);
  assert.deepEqual(doc.paths["/v1/vqa"].post.security, [{ bearer: [] }]);
  const docs = await app.request("/docs");
  assert.equal(docs.status, 200);
  const html = await docs.text();
  assert.match(html, /<code>\/v1\/chat\/completions<\/code>/);
  assert.match(html, /id="schema-ChatCompletionRequest"/);
  assert.ok(!/(src|href)="https?:/.test(html), "no external resources");
  const auth = { authorization: "Bearer k" };
  vqaResponseSchema.parse(
    await (await app.request("/v1/vqa", jsonPost({ images: [pngDataUrl()], question: "q" }, auth))).json(),
  );
  healthResponseSchema.parse(await (await app.request("/healthz")).json());
  const stream = await app.request("/v1/chat/completions", jsonPost(chatBody({ stream: true }), auth));
  for (const e of sseData(await stream.text()).slice(0, -1)) chatCompletionChunkSchema.parse(JSON.parse(e));
});

Deno.test("the page warns about an untrained model, and says nothing for a trained one", async () => {
  const untrained =
    await (await createApp(new StandInEngine({ modelName: "m" }), { ...quiet, untrained: true }).request("/")).text();
  const stub = new StandInEngine({ modelName: "m" }) as StandInEngine & { isStandIn: boolean };
  Object.defineProperty(stub, "isStandIn", { value: false });
  const trained = await (await createApp(stub, quiet).request("/")).text();
  const untrainedReal = await (await createApp(stub, { ...quiet, untrained: true }).request("/")).text();
  assert.match(untrainedReal, /id="untrained"[^>]*><b>Untrained model:<\/b>.*answers are noise/);
  assert.doesNotMatch(trained, /id="untrained"|id="standin"/);
  assert.match(untrained, /id="standin"/, "the stand-in banner takes precedence");
  const h = await (await createApp(stub, { ...quiet, untrained: true }).request("/healthz")).json();
  assert.equal(h.untrained, true);
  assert.equal(appState(createApp(stub, quiet)).limits.maxPromptTokens, 4096);
});
