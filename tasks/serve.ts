/**
 * deno task serve [--model DIR] [--port N] [--host H] [--api-key K] [--max-queue N] [--timeout-ms N]
 *                 [--grace-ms N] [--cors ORIGIN,...] [--ep auto|wasm|webgpu] [--stand-in] [--stand-in-delay-ms N]
 *
 * Serves the head-free model over HTTP (see serve/app.ts for the routes) on 127.0.0.1:8080 by default, with the real
 * onnxruntime-web engine (core/engine/ort_engine.ts; WebGPU EP on a hardware adapter, WASM otherwise; the choice is
 * printed). --model takes an export dir (config.json, tokenizer.json, vision.onnx, decoder.onnx) or a training output
 * dir holding export/. Without --model: runs/gasp/export, else runs/base/export, else the UNTRAINED tiny model
 * (seeded random weights) exported once to runs/tiny-random/export, announced loudly. --stand-in serves the
 * deterministic stand-in engine (HTTP-layer testing only).
 * SIGINT/SIGTERM shut down gracefully (stop accepting, finish or cancel in-flight work) and exit 0.
 */
import { parseArgs } from "node:util";
import { createEngine } from "../core/engine/load.ts";
import type { ExecutionProviderChoice } from "../core/model/ort_runner.ts";
import { startServer } from "../serve/server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string" },
    port: { type: "string", default: "8080" },
    host: { type: "string", default: "127.0.0.1" },
    "api-key": { type: "string" },
    "max-queue": { type: "string", default: "16" },
    "timeout-ms": { type: "string", default: "120000" },
    "grace-ms": { type: "string", default: "10000" },
    cors: { type: "string" },
    "stand-in": { type: "boolean", default: false },
    ep: { type: "string", default: "auto" },
    "stand-in-delay-ms": { type: "string", default: "5" },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});

if (values.help) {
  console.log(
    "deno task serve [--model DIR] [--port N] [--host H] [--api-key K] [--max-queue N] [--timeout-ms N] " +
      "[--grace-ms N] [--cors ORIGIN,...] [--ep auto|wasm|webgpu] [--stand-in] [--stand-in-delay-ms N]",
  );
  Deno.exit(0);
}

function intFlag(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min} (got "${v}")`);
    Deno.exit(2);
  }
  return n;
}

const apiKey = values["api-key"] ?? Deno.env.get("GASP_API_KEY") ?? undefined;
if (!["auto", "wasm", "webgpu"].includes(values.ep)) {
  console.error(`--ep must be auto, wasm or webgpu (got "${values.ep}")`);
  Deno.exit(2);
}
const loaded = await createEngine(values.model, {
  standIn: values["stand-in"],
  standInOptions: { tokenDelayMs: intFlag("stand-in-delay-ms", values["stand-in-delay-ms"], 0) },
  executionProvider: values.ep as ExecutionProviderChoice,
});
if (loaded.standIn || loaded.untrained) {
  const bar = "!".repeat(100);
  console.warn(`${bar}\n${loaded.description}\n${bar}`);
} else {
  console.log(loaded.description);
}

const server = startServer(loaded.engine, {
  hostname: values.host,
  port: intFlag("port", values.port, 0),
  apiKey,
  corsOrigins: values.cors ? values.cors.split(",").map((s) => s.trim()).filter(Boolean) : undefined,
  queue: {
    maxWaiting: intFlag("max-queue", values["max-queue"], 0),
    timeoutMs: intFlag("timeout-ms", values["timeout-ms"], 1),
  },
  graceMs: intFlag("grace-ms", values["grace-ms"], 0),
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
