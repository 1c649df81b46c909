/**
 * WorkerEngine: the engine runs in a Worker, so a blocking prefill never stops the caller's timers; errors keep
 * their class across the boundary; a Worker that does not stop after an abort, or that reports an allocation
 * failure, is replaced (status "degraded" meanwhile) and the next request succeeds. The allocation failure is a real
 * one: a 16k-token prompt on the tiny model makes onnxruntime throw std::bad_alloc at ~4.4 GB.
 */
import assert from "node:assert/strict";
import { WorkerEngine } from "../../../core/engine/worker_engine.ts";
import type { GenerationRequest } from "../../../core/engine/types.ts";
import {
  ContextLengthExceededError,
  DataFormatError,
  EngineOutOfMemoryError,
  EngineUnavailableError,
} from "../../../core/errors.ts";
import { TINY_CONFIG } from "../../../core/model/config.ts";
import { exportHeadFreeModel } from "../../../core/model/export_onnx.ts";
import { initParameters } from "../../../core/model/init.ts";
import { buildTinyTokenizerJson } from "../../../core/text/build_tokenizer.ts";

const req = (text: string, maxTokens = 6): GenerationRequest => ({
  messages: [{ role: "user", content: text }],
  maxTokens,
  temperature: 0,
  topP: 1,
  seed: 0,
  stop: [],
});

async function waitFor(cond: () => boolean, ms = 20_000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Largest gap between ticks of a 10 ms interval while `work` runs. */
async function maxTimerGap(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now(), gap = 0;
  const iv = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
  }, 10);
  try {
    await work();
  } finally {
    clearInterval(iv);
  }
  return Math.max(gap, performance.now() - last);
}

Deno.test("a blocking 1.5 s prefill in the Worker leaves the caller's timers running; errors keep their class", async () => {
  const engine = await WorkerEngine.start({
    standIn: true,
    standInOptions: { tokenDelayMs: 1, prefillBlockMs: 1500, contextTokens: 64 },
    log: () => {},
  });
  try {
    assert.deepEqual([engine.id, engine.info.standIn, engine.contextTokens, engine.status()], [
      "stand-in",
      true,
      64,
      "ok",
    ]);
    let r;
    const gap = await maxTimerGap(async () => r = await engine.generate(req("hello there")));
    assert.equal(r!.completionTokens, 6);
    assert.ok(gap < 150, `the caller's event loop stalled ${gap.toFixed(0)} ms`);
    assert.equal(await engine.countPromptTokens(req("hello there").messages), 6);
    await assert.rejects(
      engine.generate(req("x".repeat(400))),
      (e) => e instanceof ContextLengthExceededError && e.promptTokens === 103 && /64 tokens/.test(e.message),
    );
    const pre = new AbortController();
    pre.abort();
    assert.equal((await engine.generate(req("hi"), undefined, pre.signal)).finishReason, "cancelled");
  } finally {
    await engine.close();
  }
  await assert.rejects(engine.generate(req("hi")), EngineUnavailableError);
});

Deno.test("a Worker that does not stop within stuckAfterMs of an abort is replaced; the next request succeeds", async () => {
  const logs: string[] = [];
  const engine = await WorkerEngine.start({
    standIn: true,
    standInOptions: { tokenDelayMs: 1, prefillBlockMs: 2500 },
    stuckAfterMs: 300,
    log: (m) => logs.push(m),
  });
  try {
    const ac = new AbortController();
    const job = engine.generate(req("hello there", 50), undefined, ac.signal);
    setTimeout(() => ac.abort(), 100);
    const t0 = performance.now();
    const r = await job;
    assert.equal(r.finishReason, "cancelled");
    assert.ok(performance.now() - t0 < 1500, "cancelled at the stuck deadline, not after the block");
    assert.equal(engine.status(), "degraded");
    assert.equal(engine.restarts, 1);
    assert.match(engine.restartReasons[0], /did not stop within 300 ms/);
    await engine.settled();
    assert.equal(engine.status(), "ok");
    assert.equal((await engine.generate(req("hello there"))).completionTokens, 6);
    assert.ok(logs.some((l) => /model Worker restarted/.test(l)));
  } finally {
    await engine.close();
  }
});

Deno.test("real std::bad_alloc in the model Worker: 503-class error, degraded, Worker replaced, memory returned", async () => {
  const dir = await Deno.makeTempDir();
  let engine: WorkerEngine | undefined;
  try {
    await exportHeadFreeModel(TINY_CONFIG, initParameters(TINY_CONFIG, 3), buildTinyTokenizerJson(), dir);
    // a context large enough to let a 16k-token prompt through to onnxruntime, which cannot allocate its attention
    engine = await WorkerEngine.start({
      modelDir: dir,
      executionProvider: "wasm",
      contextTokens: 20_000,
      log: () => {},
    });
    const eng = engine;
    const small = await eng.generate(req("Which cube is closer?", 4));
    const rssBefore = Deno.memoryUsage().rss;
    const statuses = new Set<string>();
    const iv = setInterval(() => statuses.add(eng.status()), 5);
    const huge = "the red cube is left of the chair ".repeat(2000); // ~16k tokens
    try {
      await assert.rejects(eng.generate(req(huge, 2)), (e) => {
        assert.ok(e instanceof EngineOutOfMemoryError, String(e));
        assert.match((e as Error).message, /bad_alloc/);
        return true;
      });
      assert.equal(eng.restarts, 1);
      await eng.settled();
    } finally {
      clearInterval(iv);
    }
    assert.ok(statuses.has("degraded"), `status went through degraded (${[...statuses]})`);
    assert.equal(eng.status(), "ok");
    const again = await eng.generate(req("Which cube is closer?", 4));
    assert.equal(again.text, small.text, "the new Worker serves the same model");
    await waitFor(() => Deno.memoryUsage().rss < rssBefore + 1e9, 10_000);
    // counting needs no model, so it never went down
    assert.ok((await eng.countPromptTokens(req(huge).messages)) > 15_000);
    await assert.rejects(
      eng.countPromptTokens([{ role: "user", content: [{ type: "image" }] }]),
      DataFormatError,
    );
  } finally {
    await engine?.close();
    await Deno.remove(dir, { recursive: true });
  }
});
