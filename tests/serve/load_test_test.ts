import assert from "node:assert/strict";
import { StandInEngine } from "../../core/engine/stand_in.ts";
import { percentile, runLoadTest } from "../../serve/load_test.ts";
import { startServer } from "../../serve/server.ts";
import { pngDataUrl } from "./fixtures.ts";

Deno.test("percentile is nearest-rank", () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.deepEqual([percentile(xs, 50), percentile(xs, 95), percentile(xs, 99), percentile(xs, 100)], [
    50,
    95,
    99,
    100,
  ]);
  assert.equal(percentile([7], 99), 7);
});

Deno.test("load test sends exactly N requests, measures TTFT below latency, and counts 429s as errors", async () => {
  const engine = new StandInEngine({ tokenDelayMs: 1 });
  const base = {
    requests: 16,
    concurrency: 4,
    stream: true,
    maxTokens: 8,
    imageDataUrl: pngDataUrl(),
    question: "q",
    timeoutMs: 10_000,
  };
  const server = startServer(engine, { port: 0, log: () => {} });
  try {
    const r = await runLoadTest({ ...base, url: server.url });
    assert.equal(r.ok, 16);
    assert.deepEqual(r.errors, {});
    assert.equal(engine.calls, 16);
    assert.equal(r.completionTokens, 16 * 8);
    assert.ok(r.ttftMs && r.latencyMs && r.ttftMs.p50 <= r.latencyMs.p50);
    assert.ok(r.latencyMs.p50 <= r.latencyMs.p95 && r.latencyMs.p95 <= r.latencyMs.p99);
    assert.ok(r.throughputRps > 0);
    const plain = await runLoadTest({ ...base, url: server.url, stream: false, requests: 4 });
    assert.equal(plain.ok, 4);
    assert.equal(plain.ttftMs, null);
  } finally {
    await server.shutdown();
  }
  const tight = startServer(new StandInEngine({ tokenDelayMs: 5 }), {
    port: 0,
    queue: { maxWaiting: 0 },
    log: () => {},
  });
  try {
    const r = await runLoadTest({ ...base, url: tight.url, concurrency: 4 });
    assert.ok((r.errors["429"] ?? 0) > 0, JSON.stringify(r.errors));
    assert.equal(r.ok + r.errors["429"], 16);
  } finally {
    await tight.shutdown();
  }
});
