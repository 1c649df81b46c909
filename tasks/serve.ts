/**
 * deno task serve — serves the head-free model over HTTP (routes: serve/app.ts) with the real onnxruntime-web
 * engine (core/engine/ort_engine.ts; WebGPU EP on a hardware adapter, WASM otherwise; the choice is printed), run in
 * Workers (core/engine/worker_engine.ts) so the server never blocks on model work.
 * SIGINT/SIGTERM shut down gracefully (stop accepting, 503 for queued requests, finish or cancel running ones) and
 * exit 0. `--help` lists the flags.
 */
import { defineCommand, flag, runCommand } from "../core/cli.ts";
import { startEngineWorker } from "../core/engine/worker_engine.ts";
import { checkApiKey } from "../serve/app.ts";
import { defaultLimits } from "../serve/limits.ts";
import { DEFAULT_GRACE_MS, DEFAULT_HEADER_TIMEOUT_MS, startServer } from "../serve/server.ts";

const cmd = defineCommand({
  name: "serve",
  summary: "Serve the head-free model: /v1/vqa, OpenAI-compatible /v1/chat/completions, /metrics, /docs, a page at /.",
  description: "--model takes an export folder (config.json, tokenizer.json, vision.onnx, decoder.onnx) or a " +
    "training run folder holding export/. Without --model: runs/gasp/export, else runs/base/export, else the " +
    "UNTRAINED tiny model (seeded random weights) exported once to runs/tiny-random/export, announced loudly. " +
    "--stand-in serves the deterministic stand-in engine (HTTP-layer testing only). GASP_API_KEY sets --api-key; " +
    "an empty key is an error (omit it to run without auth).",
  flags: {
    model: flag.string("model or training run folder", { placeholder: "DIR" }),
    port: flag.int("TCP port (0: any free port)", { default: 8080, min: 0, max: 65535 }),
    host: flag.string("address to listen on", { default: "127.0.0.1", placeholder: "HOST" }),
    apiKey: flag.string("require this bearer token (default: $GASP_API_KEY)", { placeholder: "KEY" }),
    maxQueue: flag.int("requests waiting at most before 429", { default: 16, min: 0 }),
    maxPromptTokens: flag.int("prompt tokens per request, images included (400 beyond)", {
      default: defaultLimits.maxPromptTokens,
      min: 1,
    }),
    timeoutMs: flag.int("per-request time limit in ms", { default: 120000, min: 1 }),
    headerTimeoutMs: flag.int("time a connection has to send its request head, in ms (408 after)", {
      default: DEFAULT_HEADER_TIMEOUT_MS,
      min: 1,
    }),
    graceMs: flag.int("shutdown grace period for running requests in ms", { default: DEFAULT_GRACE_MS, min: 0 }),
    cors: flag.string("allowed CORS origins, comma-separated", { placeholder: "ORIGIN,..." }),
    ep: flag.choice(["auto", "wasm", "webgpu"] as const, "onnxruntime-web execution provider", { default: "auto" }),
    standIn: flag.boolean("serve the labelled STAND-IN engine (not a model)"),
    standInDelayMs: flag.int("stand-in engine delay per token in ms", { default: 5, min: 0 }),
  },
  check: (v) => {
    checkApiKey(v.apiKey, "--api-key");
    if (v.apiKey === undefined) checkApiKey(Deno.env.get("GASP_API_KEY"), "GASP_API_KEY");
  },
});

await runCommand(cmd, Deno.args, async (a) => {
  const apiKey = a.apiKey ?? Deno.env.get("GASP_API_KEY") ?? undefined;
  const loaded = await startEngineWorker(a.model, {
    standIn: a.standIn,
    standInOptions: { tokenDelayMs: a.standInDelayMs },
    executionProvider: a.ep,
  });
  if (loaded.standIn || loaded.untrained) {
    const bar = "!".repeat(100);
    console.warn(`${bar}\n${loaded.description}\n${bar}`);
  } else {
    console.log(loaded.description);
  }

  const server = startServer(loaded.engine, {
    hostname: a.host,
    port: a.port,
    apiKey,
    untrained: loaded.untrained,
    corsOrigins: a.cors ? a.cors.split(",").map((s) => s.trim()).filter(Boolean) : undefined,
    queue: { maxWaiting: a.maxQueue, timeoutMs: a.timeoutMs },
    limits: { maxPromptTokens: a.maxPromptTokens },
    headerTimeoutMs: a.headerTimeoutMs,
    graceMs: a.graceMs,
  });
  console.log(
    `serving ${loaded.engine.modelName} (${loaded.engine.id}) on ${server.url}/ ` +
      `(auth ${apiKey ? "on" : "off"}; API docs at ${server.url}/docs; Ctrl-C to stop)`,
  );

  let signalled = false;
  const onSignal = (sig: Deno.Signal) => () => {
    if (signalled) {
      console.error(`${sig} again: exiting now`);
      Deno.exit(1);
    }
    signalled = true;
    console.log(`${sig}: shutting down (queued requests get 503; running ones finish or are cancelled)...`);
    server.shutdown().then(async () => {
      await loaded.engine.close();
      await loaded.dispose();
      console.log("server stopped");
      Deno.exit(0);
    });
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, onSignal(sig));
  await server.finished;
});
