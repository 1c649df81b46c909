/**
 * deno task bench:serve [--requests N] [--concurrency N] [--max-tokens N] [--no-stream] [--url URL] [--api-key K]
 *                       [--model DIR] [--ep auto|wasm|webgpu] [--stand-in] [--stand-in-delay-ms N] [--max-queue N]
 *                       [--json FILE]
 *
 * Bounded loopback load test of the VQA server. Without --url it starts an in-process server on 127.0.0.1 (port 0)
 * with the engine from core/engine/load.ts: the real onnxruntime-web engine on --model, or the default model
 * (runs/gasp/export, runs/base/export, else the UNTRAINED random tiny model); --stand-in uses the STAND-IN engine
 * (not a model: the figures then measure the HTTP layer and queue only). Stops by itself after --requests requests.
 * The client runs in the same process as the server, so its timings include sharing the event loop with decoding.
 */
import { encode } from "fast-png";
import { parseArgs } from "node:util";
import { createEngine } from "../core/engine/load.ts";
import type { ExecutionProviderChoice } from "../core/model/ort_runner.ts";
import { writeFileAtomic } from "../core/io/atomic.ts";
import { runLoadTest } from "../serve/load_test.ts";
import { startServer } from "../serve/server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    requests: { type: "string", default: "200" },
    concurrency: { type: "string", default: "8" },
    "max-tokens": { type: "string", default: "32" },
    "no-stream": { type: "boolean", default: false },
    url: { type: "string" },
    "api-key": { type: "string" },
    model: { type: "string" },
    ep: { type: "string", default: "auto" },
    "stand-in": { type: "boolean", default: false },
    "stand-in-delay-ms": { type: "string", default: "2" },
    "max-queue": { type: "string", default: "64" },
    json: { type: "string" },
  },
  strict: true,
});
const int = (name: string, v: string, min: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min} (got "${v}")`);
  return n;
};

// A 64x48 gradient PNG: small, valid, the same every run.
const w = 64, h = 48, rgb = new Uint8Array(w * h * 3);
for (let i = 0; i < w * h; i++) rgb.set([(i % w) * 4, Math.floor(i / w) * 5, 128], i * 3);
const png = encode({ width: w, height: h, data: rgb, channels: 3 });
const imageDataUrl = `data:image/png;base64,${btoa(String.fromCharCode(...png))}`;

let url = values.url;
let engineLabel = `external server at ${url}`;
let stop: (() => Promise<void>) | null = null;
if (!url) {
  if (!["auto", "wasm", "webgpu"].includes(values.ep)) throw new Error(`--ep must be auto, wasm or webgpu`);
  const loaded = await createEngine(values.model, {
    standIn: values["stand-in"],
    standInOptions: { tokenDelayMs: int("stand-in-delay-ms", values["stand-in-delay-ms"], 0) },
    executionProvider: values.ep as ExecutionProviderChoice,
  });
  engineLabel = loaded.standIn
    ? `STAND-IN ENGINE (not a model; ${loaded.engine.id}, ${values["stand-in-delay-ms"]} ms/token)`
    : `${loaded.engine.id} ${loaded.engine.modelName}${loaded.untrained ? " (UNTRAINED random weights)" : ""}`;
  console.warn(loaded.description);
  const server = startServer(loaded.engine, {
    hostname: "127.0.0.1",
    port: 0,
    apiKey: values["api-key"],
    queue: { maxWaiting: int("max-queue", values["max-queue"], 0) },
  });
  url = server.url;
  stop = server.shutdown;
}

const report = await runLoadTest({
  url,
  requests: int("requests", values.requests, 1),
  concurrency: int("concurrency", values.concurrency, 1),
  stream: !values["no-stream"],
  maxTokens: int("max-tokens", values["max-tokens"], 1),
  imageDataUrl,
  question: "Which object is closer to the camera, the red cube or the blue sphere?",
  apiKey: values["api-key"],
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
