/**
 * deno task bench:serve — bounded loopback load test of the VQA server. Without --url it starts an in-process
 * server on 127.0.0.1 (port 0) with the engine from core/engine/load.ts: the real onnxruntime-web engine on --model,
 * or the default model (runs/gasp/export, runs/base/export, else the UNTRAINED random tiny model); --stand-in uses
 * the STAND-IN engine (not a model: the figures then measure the HTTP layer and queue only). Stops by itself after
 * --requests requests. The client runs in the same process as the server, so its timings include sharing the event
 * loop with decoding. `--help` lists the flags.
 */
import { encode } from "fast-png";
import { defineCommand, flag, runCommand } from "../core/cli.ts";
import { createEngine } from "../core/engine/load.ts";
import { writeFileAtomic } from "../core/io/atomic.ts";
import { runLoadTest } from "../serve/load_test.ts";
import { startServer } from "../serve/server.ts";

const cmd = defineCommand({
  name: "bench:serve",
  summary: "Load-test the VQA server on loopback: throughput, latency p50/p95/p99, time to first token.",
  flags: {
    requests: flag.int("requests to send", { default: 200, min: 1 }),
    concurrency: flag.int("requests in flight at once", { default: 8, min: 1 }),
    maxTokens: flag.int("max_tokens per request", { default: 32, min: 1 }),
    noStream: flag.boolean("non-streaming requests"),
    url: flag.string("an already running server instead of an in-process one", { placeholder: "URL" }),
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
  let stop: (() => Promise<void>) | null = null;
  if (!url) {
    const loaded = await createEngine(values.model, {
      standIn: values.standIn,
      standInOptions: { tokenDelayMs: values.standInDelayMs },
      executionProvider: values.ep,
    });
    engineLabel = loaded.standIn
      ? `STAND-IN ENGINE (not a model; ${loaded.engine.id}, ${values.standInDelayMs} ms/token)`
      : `${loaded.engine.id} ${loaded.engine.modelName}${loaded.untrained ? " (UNTRAINED random weights)" : ""}`;
    console.warn(loaded.description);
    const server = startServer(loaded.engine, {
      hostname: "127.0.0.1",
      port: 0,
      apiKey: values.apiKey,
      queue: { maxWaiting: values.maxQueue },
    });
    url = server.url;
    stop = server.shutdown;
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

  const fmt = (p: { p50: number; p95: number; p99: number } | null) =>
    p ? `p50 ${p.p50} ms, p95 ${p.p95} ms, p99 ${p.p99} ms` : "n/a";
  console.log(`bench:serve against ${engineLabel}`);
  console.log(
    `  ${report.requests} requests, concurrency ${report.concurrency}, stream ${report.stream}, ` +
      `max_tokens ${report.maxTokens}`,
  );
  console.log(`  ok ${report.ok}, errors ${JSON.stringify(report.errors)}, wall ${report.wallS} s`);
  console.log(`  throughput ${report.throughputRps} req/s, ${report.completionTokensPerS} completion tokens/s`);
  console.log(`  latency  ${fmt(report.latencyMs)}`);
  console.log(`  TTFT     ${fmt(report.ttftMs)}`);
  if (values.json) {
    await writeFileAtomic(
      values.json,
      JSON.stringify({ engine: engineLabel, device: "cpu (loopback)", ...report }, null, 2) + "\n",
    );
    console.log(`  wrote ${values.json}`);
  }
});
