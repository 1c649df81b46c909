/** The server on a real socket (127.0.0.1, port 0): streaming framing, 429, disconnects, graceful shutdown. */
import assert from "node:assert/strict";
import { StandInEngine } from "../../core/engine/stand_in.ts";
import { startServer } from "../../serve/server.ts";
import { chatBody, jsonPost, sseData } from "./fixtures.ts";

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("over a socket: healthz, models and a streamed chat whose SSE framing ends with data: [DONE]", async () => {
  const engine = new StandInEngine({ tokenDelayMs: 1 });
  const server = startServer(engine, { port: 0, log: () => {} });
  try {
    assert.equal(server.addr.hostname, "127.0.0.1");
    assert.equal((await fetch(`${server.url}/healthz`).then((r) => r.json())).status, "ok");
    assert.equal((await fetch(`${server.url}/v1/models`).then((r) => r.json())).data[0].id, "gasp-stand-in");
    const res = await fetch(`${server.url}/v1/chat/completions`, jsonPost(chatBody({ stream: true, max_tokens: 6 })));
    assert.equal(res.status, 200);
    const events = sseData(await res.text());
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    assert.equal(chunks.length, 1 + 6 + 1);
    assert.equal(chunks.at(-1).choices[0].finish_reason, "length");
  } finally {
    await server.shutdown();
  }
});

Deno.test("aborting a streaming fetch mid-answer cancels the generation in the engine", async () => {
  const engine = new StandInEngine({ tokenDelayMs: 15 });
  const server = startServer(engine, { port: 0, log: () => {} });
  try {
    const control = new AbortController();
    const res = await fetch(
      `${server.url}/v1/chat/completions`,
      { ...jsonPost(chatBody({ stream: true, max_tokens: 500 })), signal: control.signal },
    );
    const reader = res.body!.getReader();
    let seen = "";
    while ((seen.match(/"content":"[^"]/g) ?? []).length < 2) {
      seen += new TextDecoder().decode((await reader.read()).value);
    }
    control.abort();
    await reader.cancel().catch(() => {});
    await waitFor(() => engine.abortsSeen === 1);
    await server.queue.idle();
    assert.equal(server.queue.stats().completed, 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test("over a socket: 429 with Retry-After once one runs and maxWaiting wait", async () => {
  const engine = new StandInEngine({ tokenDelayMs: 10 });
  const server = startServer(engine, { port: 0, queue: { maxWaiting: 1 }, log: () => {} });
  try {
    const a = fetch(`${server.url}/v1/chat/completions`, jsonPost(chatBody({ max_tokens: 10 })));
    await waitFor(() => server.queue.stats().running === 1);
    const b = fetch(`${server.url}/v1/chat/completions`, jsonPost(chatBody({ max_tokens: 10 })));
    await waitFor(() => server.queue.stats().waiting === 1);
    const c = await fetch(`${server.url}/v1/chat/completions`, jsonPost(chatBody({ max_tokens: 10 })));
    assert.equal(c.status, 429);
    assert.equal(c.headers.get("retry-after"), "1");
    await c.body?.cancel();
    assert.equal((await a).status, 200);
    assert.equal((await b).status, 200);
    await Promise.all([(await a).body?.cancel(), (await b).body?.cancel()]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("graceful shutdown lets an in-flight stream finish, then the port stops accepting", async () => {
  const engine = new StandInEngine({ tokenDelayMs: 10 });
  const server = startServer(engine, { port: 0, graceMs: 5000, log: () => {} });
  const res = await fetch(`${server.url}/v1/chat/completions`, jsonPost(chatBody({ stream: true, max_tokens: 20 })));
  const text = res.text();
  await waitFor(() => server.queue.stats().running === 1);
  const done = server.shutdown();
  const events = sseData(await text);
  assert.equal(events.at(-1), "[DONE]");
  assert.equal(JSON.parse(events.at(-2)!).choices[0].finish_reason, "length"); // finished, not cut short
  await done;
  assert.equal(engine.abortsSeen, 0);
  await assert.rejects(fetch(`${server.url}/healthz`));
});

Deno.test("graceful shutdown cancels in-flight work once the grace period is over; the stream still ends cleanly", async () => {
  const engine = new StandInEngine({ tokenDelayMs: 20 });
  const server = startServer(engine, { port: 0, graceMs: 100, log: () => {} });
  const res = await fetch(`${server.url}/v1/chat/completions`, jsonPost(chatBody({ stream: true, max_tokens: 1000 })));
  const text = res.text();
  await waitFor(() => server.queue.stats().running === 1);
  await server.shutdown();
  const events = sseData(await text);
  assert.equal(events.at(-1), "[DONE]");
  assert.equal(engine.abortsSeen, 1);
});

Deno.test("deno task serve's entry point exits 0 on SIGTERM after finishing an in-flight stream", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-no-legacy-abort",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "tasks/serve.ts",
      "--port",
      "0",
      "--stand-in",
      "--stand-in-delay-ms",
      "10",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream());
  const stderrText = (async () => {
    let s = "";
    for await (const c of stderr) s += c;
    return s;
  })();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  let url: string | undefined;
  while (!url) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`serve exited early: ${out}\n${await stderrText}`);
    out += value;
    url = /on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1];
  }
  const res = await fetch(`${url}/v1/chat/completions`, jsonPost(chatBody({ stream: true, max_tokens: 15 })));
  const body = res.text();
  await new Promise((r) => setTimeout(r, 40));
  child.kill("SIGTERM");
  const events = sseData(await body);
  assert.equal(events.at(-1), "[DONE]");
  assert.equal(JSON.parse(events.at(-2)!).choices[0].finish_reason, "length");
  const rest = (async () => {
    while (true) {
      const { value, done } = await lines.read();
      if (done) return out;
      out += value;
    }
  })();
  const status = await child.status;
  await rest;
  assert.equal(status.code, 0, `${out}\n${await stderrText}`);
  assert.match(out, /SIGTERM: shutting down/);
  assert.match(await stderrText, /STAND-IN ENGINE, NOT A MODEL/);
});
