/**
 * Hostile-input fuzzing over a real socket: 1600 seeded bodies from serve/hostile_traffic.ts (bad JSON, wrong types,
 * huge strings, broken base64, non-image bytes, decompression bombs at 8 and 16 bits and with palettes, deep nesting,
 * wrong content types, oversize bodies, prompts over the token limit, unsupported OpenAI parameters, special tokens
 * in user text), interleaved with connection-level attacks (request heads that never finish, uploads aborted
 * halfway). Every body gets the answer its case expects (a 4xx with an OpenAI-shaped message, or 200 for hostile
 * content in a valid request), nothing gets a 5xx, nothing expected to fail reaches the engine, no fault is logged,
 * and /healthz still answers afterwards.
 */
import assert from "node:assert/strict";
import { StandInEngine } from "../../core/engine/stand_in.ts";
import { Rng } from "../../core/random.ts";
import { chatBody, hostileCase } from "../../serve/hostile_traffic.ts";
import { startServer } from "../../serve/server.ts";

const MAX_BODY = 256 * 1024;

async function slowHead(port: number): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.write(new TextEncoder().encode("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"));
    const buf = new Uint8Array(1024);
    const n = await c.read(buf);
    return n === null ? "" : new TextDecoder().decode(buf.subarray(0, n));
  } finally {
    c.close();
  }
}

async function abortedUpload(port: number): Promise<void> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.write(new TextEncoder().encode(
    "POST /v1/vqa HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000\r\n\r\n" +
      `{"images":["${"A".repeat(2000)}`,
  ));
  await new Promise((r) => setTimeout(r, 20));
  c.close();
}

Deno.test("1600 hostile bodies and 60 connection attacks: each gets its expected 4xx or 200, never a 5xx", async () => {
  const engine = new StandInEngine({ tokenDelayMs: 0 });
  const logged: string[] = [];
  const server = startServer(engine, {
    port: 0,
    limits: { maxBodyBytes: MAX_BODY },
    headerTimeoutMs: 300,
    log: (l) => logged.push(l),
  });
  try {
    const rng = new Rng(20261126);
    const opts = { maxBodyBytes: MAX_BODY, modelName: engine.modelName, decodesImages: false };
    const cases = Array.from({ length: 1600 }, (_, i) => hostileCase(rng, i, opts));
    const failures: string[] = [];
    const kinds = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++];
        const headers: Record<string, string> = {};
        if (c.contentType) headers["content-type"] = c.contentType;
        const res = await fetch(`${server.url}${c.path}`, { method: "POST", headers, body: c.body as BodyInit });
        const text = await res.text();
        let message = "";
        try {
          message = JSON.parse(text).error?.message ?? "";
        } catch { /* not JSON: counted as a failure below */ }
        const ok = c.expect === "200"
          ? res.status === 200
          : res.status >= 400 && res.status < 500 && message.length >= 5;
        if (!ok) {
          failures.push(
            `${c.kind} ${c.path} -> ${res.status} ${text.slice(0, 120)} body=${String(c.body).slice(0, 120)}`,
          );
        }
        kinds.set(`${c.kind}:${res.status}`, (kinds.get(`${c.kind}:${res.status}`) ?? 0) + 1);
      }
    };
    const attacks = async () => {
      for (let i = 0; i < 30; i++) {
        assert.match(await slowHead(server.addr.port), /^HTTP\/1\.1 408/);
        await abortedUpload(server.addr.port);
      }
    };
    await Promise.all([...Array.from({ length: 6 }, worker), attacks()]);
    assert.deepEqual(failures, [], failures.slice(0, 10).join("\n"));
    const answered = cases.filter((c) => c.expect === "200").length;
    assert.equal(engine.calls, answered, "only the valid-but-hostile bodies reach the engine");
    assert.deepEqual(logged, [], "no server-side fault was logged");
    const statuses = new Set([...kinds.keys()].map((k) => Number(k.split(":")[1])));
    for (const s of [400, 404, 413, 415]) assert.ok(statuses.has(s), `fuzzing produced a ${s}`);
    for (const k of ["context-length:400", "image-bomb:413", "unsupported-param:400", "special-tokens:200"]) {
      assert.ok(kinds.has(k), `fuzzing produced ${k}`);
    }
    for (const s of [500, 502, 503, 504]) {
      assert.equal(
        server.metrics.requestCount("/v1/chat/completions", s) + server.metrics.requestCount("/v1/vqa", s),
        0,
      );
    }
    assert.ok(server.guard.refused.headerTimeout >= 30);
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
