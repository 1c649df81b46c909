/**
 * deno task bench:serve — bounded loopback load test of the VQA server: throughput, latency p50/p95/p99, time to
 * first token, and /healthz latency under that load. Without --url it starts an in-process server on 127.0.0.1
 * (port 0) with the engine core/engine/worker_engine.ts runs in Workers: the real onnxruntime-web engine on --model,
 * or the default model (runs/gasp/export, runs/base/export, else the UNTRAINED random tiny model); --stand-in uses
 * the STAND-IN engine (not a model: the figures then measure the HTTP layer and queue only). Stops by itself after
 * --requests requests.
 *
 * --soak SECONDS instead runs serve/soak.ts for that long: valid clients at the queue limit (--max-queue + 2) beside
 * hostile ones, and reports valid/hostile counts, 5xx, RSS before/after and /healthz latency; it exits 1 if a valid
 * request went unanswered, anything got a 5xx, a hostile request got the wrong answer, or RSS grew 20 % or more.
 * `--help` lists the flags.
 */
import { encode } from "fast-png";
import { defineCommand, flag, runCommand } from "../core/cli.ts";
import { startEngineWorker } from "../core/engine/worker_engine.ts";
import { writeFileAtomic } from "../core/io/atomic.ts";
import { defaultLimits } from "../serve/limits.ts";
import { runLoadTest } from "../serve/load_test.ts";
import { DEFAULT_HEADER_TIMEOUT_MS, startServer } from "../serve/server.ts";
import { runSoak } from "../serve/soak.ts";

const cmd = defineCommand({
  name: "bench:serve",
  summary: "Load-test the VQA server on loopback: latency p50/p95/p99, TTFT, /healthz under load; or --soak it.",
  flags: {
    requests: flag.int("requests to send", { default: 200, min: 1 }),
    concurrency: flag.int("requests in flight at once", { default: 8, min: 1 }),
    maxTokens: flag.int("max_tokens per request", { default: 32, min: 1 }),
    noStream: flag.boolean("non-streaming requests"),
    soak: flag.int("run the hostile+valid soak for this many seconds instead (0: off)", { default: 0, min: 0 }),
    seed: flag.int("seed of the soak's hostile traffic", { default: 0 }),
    url: flag.string("an already running server (loopback) instead of an in-process one", { placeholder: "URL" }),
    apiKey: flag.string("bearer token to send", { placeholder: "KEY" }),
    model: flag.string("model or training run folder for the in-process server", { placeholder: "DIR" }),
    ep: flag.choice(["auto", "wasm", "webgpu"] as const, "onnxruntime-web execution provider", { default: "auto" }),
    standIn: flag.boolean("use the labelled STAND-IN engine (not a model)"),
    standInDelayMs: flag.int("stand-in engine delay per token in ms", { default: 2, min: 0 }),
    maxQueue: flag.int("server queue limit", { default: 64, min: 0 }),
    json: flag.string("also write the report as JSON", { placeholder: "FILE" }),
  },
});

await runCommand(cmd, Deno.args, async (values) => {
  // A 64x48 gradient PNG: small, valid, the same every run.
  const w = 64, h = 48, rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) rgb.set([(i % w) * 4, Math.floor(i / w) * 5, 128], i * 3);
  const png = encode({ width: w, height: h, data: rgb, channels: 3 });
  const imageDataUrl = `data:image/png;base64,${btoa(String.fromCharCode(...png))}`;

  let url = values.url;
  let engineLabel = `external server at ${url}`;
  let modelName = "";
  let standIn = false;
  let stop: (() => Promise<void>) | null = null;
  if (!url) {
    const loaded = await startEngineWorker(values.model, {
      standIn: values.standIn,
      standInOptions: { tokenDelayMs: values.standInDelayMs },
      executionProvider: values.ep,
    });
    standIn = loaded.standIn;
    modelName = loaded.engine.modelName;
    engineLabel = loaded.standIn
      ? `STAND-IN ENGINE (not a model; ${loaded.engine.id}, ${values.standInDelayMs} ms/token)`
      : `${loaded.engine.id} ${loaded.engine.modelName}${loaded.untrained ? " (UNTRAINED random weights)" : ""}`;
    console.warn(loaded.description);
    const server = startServer(loaded.engine, {
      hostname: "127.0.0.1",
      port: 0,
      apiKey: values.apiKey,
      untrained: loaded.untrained,
      queue: { maxWaiting: values.maxQueue },
      log: (l) => console.error(l),
    });
    url = server.url;
    stop = async () => {
      await server.shutdown();
      await loaded.engine.close();
      await loaded.dispose();
    };
  } else {
    modelName = (await (await fetch(`${url}/healthz`)).json()).model;
  }
  const fmt = (p: { p50: number; p95: number; p99: number; max?: number } | null) =>
    p ? `p50 ${p.p50} ms, p95 ${p.p95} ms, p99 ${p.p99} ms${p.max !== undefined ? `, max ${p.max} ms` : ""}` : "n/a";

  if (values.soak > 0) {
    const r = await runSoak({
      url,
      durationS: values.soak,
      validConcurrency: values.maxQueue + 2,
      hostileConcurrency: 3,
      maxTokens: values.maxTokens,
      modelName,
      decodesImages: !standIn,
      maxBodyBytes: defaultLimits.maxBodyBytes,
      headerTimeoutMs: DEFAULT_HEADER_TIMEOUT_MS,
      seed: values.seed,
      apiKey: values.apiKey,
      warmupS: Math.min(30, values.soak / 4),
      requestTimeoutMs: 120_000,
    });
    await stop?.();
    const mb = (b: number) => (b / 2 ** 20).toFixed(0);
    console.log(`bench:serve --soak ${values.soak} against ${engineLabel} (queue ${values.maxQueue})`);
    console.log(
      `  valid   ${r.valid.answered}/${r.valid.requests} answered, ${r.valid.retried} 429/503 retried, ` +
        `failed ${JSON.stringify(r.valid.failed)}; latency ${fmt(r.valid.latencyMs)}`,
    );
    console.log(
      `  hostile ${r.hostile.asExpected}/${r.hostile.sent} bodies answered as expected; ${r.hostile.slowHeads} slow ` +
        `heads, ${r.hostile.abortedUploads} aborted uploads, ${r.hostile.abortedStreams} abandoned streams`,
    );
    if (r.hostile.unexpected.length) console.log(`  unexpected: ${r.hostile.unexpected.join("\n              ")}`);
    console.log(`  5xx     ${r.status5xx}`);
    console.log(
      `  RSS     ${mb(r.rss.beforeBytes)} MiB after warm-up -> ${mb(r.rss.afterBytes)} MiB at the end ` +
        `(${(100 * r.rss.growth).toFixed(1)} %; peak ${mb(r.rss.peakBytes)} MiB)`,
    );
    console.log(`  /healthz ${fmt(r.healthzMs)}`);
    if (values.json) await writeFileAtomic(values.json, JSON.stringify({ engine: engineLabel, ...r }, null, 2) + "\n");
    const ok = r.status5xx === 0 && Object.keys(r.valid.failed).length === 0 &&
      r.hostile.asExpected === r.hostile.sent && r.hostile.unexpected.length === 0 && r.rss.growth < 0.2;
    console.log(ok ? "  soak passed" : "  SOAK FAILED");
    if (!ok) Deno.exit(1);
    return;
  }

  const report = await runLoadTest({
    url,
    requests: values.requests,
    concurrency: values.concurrency,
    stream: !values.noStream,
    maxTokens: values.maxTokens,
    imageDataUrl,
    question: "Which object is closer to the camera, the red cube or the blue sphere?",
    apiKey: values.apiKey,
    timeoutMs: 60_000,
  });
  await stop?.();

  console.log(`bench:serve against ${engineLabel}`);
  console.log(
    `  ${report.requests} requests, concurrency ${report.concurrency}, stream ${report.stream}, ` +
      `max_tokens ${report.maxTokens}`,
  );
  console.log(`  ok ${report.ok}, errors ${JSON.stringify(report.errors)}, wall ${report.wallS} s`);
  console.log(`  throughput ${report.throughputRps} req/s, ${report.completionTokensPerS} completion tokens/s`);
  console.log(`  latency  ${fmt(report.latencyMs)}`);
  console.log(`  TTFT     ${fmt(report.ttftMs)}`);
  console.log(`  /healthz ${fmt(report.healthzMs)} (under that load)`);
  if (values.json) {
    await writeFileAtomic(
      values.json,
      JSON.stringify({ engine: engineLabel, device: "cpu (loopback)", ...report }, null, 2) + "\n",
    );
    console.log(`  wrote ${values.json}`);
  }
});
