/**
 * deno task serve — serves the head-free model over HTTP (routes: serve/app.ts) with the real onnxruntime-web
 * engine (core/engine/ort_engine.ts; WebGPU EP on a hardware adapter, WASM otherwise; the choice is printed).
 * SIGINT/SIGTERM shut down gracefully (stop accepting, finish or cancel in-flight work) and exit 0.
 * `--help` lists the flags.
 */
import { defineCommand, flag, runCommand } from "../core/cli.ts";
import { createEngine } from "../core/engine/load.ts";
import { startServer } from "../serve/server.ts";

const cmd = defineCommand({
  name: "serve",
  summary: "Serve the head-free model: /v1/vqa, OpenAI-compatible /v1/chat/completions, /metrics, a page at /.",
  description: "--model takes an export folder (config.json, tokenizer.json, vision.onnx, decoder.onnx) or a " +
    "training run folder holding export/. Without --model: runs/gasp/export, else runs/base/export, else the " +
    "UNTRAINED tiny model (seeded random weights) exported once to runs/tiny-random/export, announced loudly. " +
    "--stand-in serves the deterministic stand-in engine (HTTP-layer testing only). GASP_API_KEY sets --api-key.",
  flags: {
    model: flag.string("model or training run folder", { placeholder: "DIR" }),
    port: flag.int("TCP port (0: any free port)", { default: 8080, min: 0, max: 65535 }),
    host: flag.string("address to listen on", { default: "127.0.0.1", placeholder: "HOST" }),
    apiKey: flag.string("require this bearer token (default: $GASP_API_KEY)", { placeholder: "KEY" }),
    maxQueue: flag.int("requests waiting at most before 429", { default: 16, min: 0 }),
    timeoutMs: flag.int("per-request time limit in ms", { default: 120000, min: 1 }),
    graceMs: flag.int("shutdown grace period in ms", { default: 10000, min: 0 }),
    cors: flag.string("allowed CORS origins, comma-separated", { placeholder: "ORIGIN,..." }),
    ep: flag.choice(["auto", "wasm", "webgpu"] as const, "onnxruntime-web execution provider", { default: "auto" }),
    standIn: flag.boolean("serve the labelled STAND-IN engine (not a model)"),
    standInDelayMs: flag.int("stand-in engine delay per token in ms", { default: 5, min: 0 }),
  },
});

await runCommand(cmd, Deno.args, async (a) => {
  const apiKey = a.apiKey ?? Deno.env.get("GASP_API_KEY") ?? undefined;
  const loaded = await createEngine(a.model, {
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
    corsOrigins: a.cors ? a.cors.split(",").map((s) => s.trim()).filter(Boolean) : undefined,
    queue: { maxWaiting: a.maxQueue, timeoutMs: a.timeoutMs },
    graceMs: a.graceMs,
  });
  console.log(
    `serving ${loaded.engine.modelName} (${loaded.engine.id}) on ${server.url}/ ` +
      `(auth ${apiKey ? "on" : "off"}; Ctrl-C to stop)`,
  );

  let signalled = false;
  const onSignal = (sig: Deno.Signal) => () => {
    if (signalled) {
      console.error(`${sig} again: exiting now`);
      Deno.exit(1);
    }
    signalled = true;
    console.log(`${sig}: shutting down (finishing in-flight requests)...`);
    server.shutdown().then(() => {
      console.log("server stopped");
      Deno.exit(0);
    });
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, onSignal(sig));
  await server.finished;
});
