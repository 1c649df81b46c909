/**
 * A short soak of the real server (tiny model with random weights, run in Workers) at its queue limit: valid
 * clients keep a queue of 3 full while hostile clients send every kind of bad body, slow request heads, aborted
 * uploads and abandoned streams. Every valid request must be answered, nothing may get a 5xx, every hostile request
 * must get its expected answer, and resident memory must grow by less than 20 % from after the warm-up to the end.
 * 45 s here (GASP_SOAK_S overrides); the 10-minute run is `deno task bench:serve --soak 600 --max-queue 3`.
 */
import assert from "node:assert/strict";
import { WorkerEngine } from "../../core/engine/worker_engine.ts";
import { TINY_CONFIG } from "../../core/model/config.ts";
import { exportHeadFreeModel } from "../../core/model/export_onnx.ts";
import { initParameters } from "../../core/model/init.ts";
import { buildTinyTokenizerJson } from "../../core/text/build_tokenizer.ts";
import { runSoak } from "../../serve/soak.ts";
import { startServer } from "../../serve/server.ts";

Deno.test("soak at the queue limit: every valid request answered, no 5xx, hostile ones refused, RSS growth < 20 %", async () => {
  const durationS = Number(Deno.env.get("GASP_SOAK_S") ?? "45");
  const dir = await Deno.makeTempDir();
  let engine: WorkerEngine | undefined;
  try {
    await exportHeadFreeModel(TINY_CONFIG, initParameters(TINY_CONFIG, 13), buildTinyTokenizerJson(), dir);
    engine = await WorkerEngine.start({ modelDir: dir, executionProvider: "wasm", modelName: "soak", log: () => {} });
    const logged: string[] = [];
    const maxBodyBytes = 4 * 1024 * 1024;
    const server = startServer(engine, {
      port: 0,
      queue: { maxWaiting: 3, timeoutMs: 60_000 },
      limits: { maxBodyBytes },
      headerTimeoutMs: 1000,
      log: (l) => logged.push(l),
    });
    try {
      const r = await runSoak({
        url: server.url,
        durationS,
        validConcurrency: 5,
        hostileConcurrency: 3,
        maxTokens: 8,
        modelName: "soak",
        decodesImages: true,
        maxBodyBytes,
        headerTimeoutMs: 1000,
        seed: 7,
        warmupS: Math.min(15, durationS * 0.35), // memory is still ramping in the first seconds
        requestTimeoutMs: 60_000,
      });
      console.log(`  soak ${r.durationS} s: ${JSON.stringify({ ...r, hostile: { ...r.hostile, byKind: undefined } })}`);
      assert.equal(r.status5xx, 0, "no 5xx");
      assert.deepEqual(r.valid.failed, {}, "every valid request answered");
      assert.equal(r.valid.answered, r.valid.requests);
      assert.ok(r.valid.answered >= durationS / 4, `${r.valid.answered} valid answers in ${durationS} s`);
      assert.ok(r.valid.retried > 0, "the queue was at its limit (some 429s were retried)");
      assert.deepEqual(r.hostile.unexpected, []);
      assert.equal(r.hostile.asExpected, r.hostile.sent);
      assert.ok(
        r.hostile.sent > 50 && r.hostile.slowHeads > 0 && r.hostile.abortedUploads > 0 && r.hostile.abortedStreams > 0,
      );
      assert.ok(
        r.rss.growth < 0.2,
        `RSS ${r.rss.beforeBytes} -> ${r.rss.afterBytes} (${(100 * r.rss.growth).toFixed(1)} %)`,
      );
      assert.deepEqual(logged, [], "no server-side fault was logged");
      assert.equal(engine.restarts, 0);
    } finally {
      await server.shutdown();
    }
  } finally {
    await engine?.close();
    await Deno.remove(dir, { recursive: true });
  }
});
