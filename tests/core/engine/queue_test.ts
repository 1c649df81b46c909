import assert from "node:assert/strict";
import { EngineQueue } from "../../../core/engine/queue.ts";
import { StandInEngine } from "../../../core/engine/stand_in.ts";
import type { GenerationRequest, GenerationResult, InferenceEngine } from "../../../core/engine/types.ts";
import { EngineUnavailableError, GenerationTimeoutError, QueueFullError } from "../../../core/errors.ts";

const req: GenerationRequest = {
  messages: [{ role: "user", content: [{ type: "text", text: "hello there" }] }],
  maxTokens: 6,
  temperature: 0,
  topP: 1,
  seed: 0,
  stop: [],
};

/** Wraps an engine and records the peak number of concurrent generate() calls. */
class CountingEngine implements InferenceEngine {
  id = "counting";
  modelName = "m";
  contextTokens = 4096;
  active = 0;
  peak = 0;
  constructor(readonly inner: StandInEngine) {}
  ready() {
    return this.inner.ready();
  }
  status() {
    return this.inner.status();
  }
  countPromptTokens(m: GenerationRequest["messages"]) {
    return this.inner.countPromptTokens(m);
  }
  async generate(r: GenerationRequest, onToken?: (t: string) => void, signal?: AbortSignal): Promise<GenerationResult> {
    this.active++;
    this.peak = Math.max(this.peak, this.active);
    try {
      return await this.inner.generate(r, onToken, signal);
    } finally {
      this.active--;
    }
  }
}

Deno.test("queue runs one generation at a time and finishes every accepted job", async () => {
  const engine = new CountingEngine(new StandInEngine({ tokenDelayMs: 1 }));
  const q = new EngineQueue(engine, { maxWaiting: 10 });
  const results = await Promise.all(Array.from({ length: 6 }, () => q.submit(req)));
  assert.equal(engine.peak, 1);
  assert.ok(results.every((r) => r.completionTokens === 6));
  assert.equal(q.stats().completed, 6);
});

Deno.test("queue refuses synchronously with QueueFullError when maxWaiting jobs already wait", async () => {
  const q = new EngineQueue(new StandInEngine({ tokenDelayMs: 5 }), { maxWaiting: 2, retryAfterS: 3 });
  const accepted = [q.submit(req), q.submit(req), q.submit(req)]; // 1 running + 2 waiting
  assert.throws(() => q.submit(req), (e) => e instanceof QueueFullError && e.retryAfterS === 3);
  assert.equal(q.stats().rejected, 1);
  await Promise.all(accepted);
});

Deno.test("queue times out a long generation, aborts it in the engine and rejects with GenerationTimeoutError", async () => {
  const engine = new StandInEngine({ tokenDelayMs: 50 });
  const q = new EngineQueue(engine, { timeoutMs: 80 });
  await assert.rejects(q.submit({ ...req, maxTokens: 100 }), GenerationTimeoutError);
  assert.equal(engine.abortsSeen, 1);
});

Deno.test("a caller abort removes a waiting job without running it and resolves it as cancelled", async () => {
  const engine = new StandInEngine({ tokenDelayMs: 5 });
  const q = new EngineQueue(engine);
  const first = q.submit(req);
  const control = new AbortController();
  const second = q.submit(req, { signal: control.signal });
  control.abort();
  assert.equal((await second).finishReason, "cancelled");
  await first;
  assert.equal(engine.calls, 1);
});

Deno.test("closed queue and not-ready engine refuse with EngineUnavailableError", async () => {
  const q = new EngineQueue(new StandInEngine({ loadDelayMs: 10_000 }));
  assert.throws(() => q.submit(req), EngineUnavailableError);
  const q2 = new EngineQueue(new StandInEngine());
  q2.close();
  assert.throws(() => q2.submit(req), EngineUnavailableError);
  await q2.idle();
});

Deno.test("cancelAll cancels the running and waiting jobs and idle() then resolves", async () => {
  const q = new EngineQueue(new StandInEngine({ tokenDelayMs: 30 }));
  const jobs = [q.submit({ ...req, maxTokens: 100 }), q.submit(req)];
  await new Promise((r) => setTimeout(r, 40));
  q.cancelAll();
  const rs = await Promise.all(jobs);
  assert.deepEqual(rs.map((r) => r.finishReason), ["cancelled", "cancelled"]);
  await q.idle();
  assert.deepEqual([q.stats().running, q.stats().waiting], [0, 0]);
});
