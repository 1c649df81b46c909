/**
 * deno task bench:model (`--help` lists the flags)
 * Prefill and decode tokens/s of the tiny model, for one prompt with a 224² image, on
 * - ours-webgpu: our WebGPU forward (core/model/vlm.ts) with its KV cache, weights read back from the export dir;
 * - wasm / webgpu: onnxruntime-web (WASM EP, WebGPU EP) running the exported graphs.
 * Every engine gets the same prompt tokens and pixels, one warm-up pass (shader compilation / JIT excluded), prefill
 * timed as the mean of 3 runs without the vision encoder (timed separately), and N greedy decode steps with the
 * cache. --model takes a training run, an export, a model folder or a step checkpoint (core/model/folder/resolve.ts)
 * and prints which one it resolved; one without an export is exported to a temp dir first. Without --model it
 * exports the seeded random tiny model to a temp dir.
 */
import { defineCommand, flag, parseFlagsOrExit } from "../core/cli.ts";
import { resolve } from "node:path";
import { writeFileAtomic } from "../core/io/atomic.ts";
import { TINY_CONFIG } from "../core/model/config.ts";
import { initParameters } from "../core/model/init.ts";
import { exportHeadFreeModel } from "../core/model/export_onnx.ts";
import { benchOrtModel, type OrtBenchResult } from "../core/model/bench_ort.ts";
import { buildTinyTokenizerJson } from "../core/text/build_tokenizer.ts";
import { Rng } from "../core/random.ts";
import { loadExportDir } from "../core/model/export_onnx.ts";
import { type VlmKvCache, VlmModel } from "../core/model/vlm.ts";
import { argmax } from "../core/model/sampling.ts";
import { TextTokenizer } from "../core/text/tokenizer.ts";
import type { ChatMessage } from "../core/text/chat_template.ts";
import { encodePrompt } from "../core/model/processing.ts";
import { exportOf, type ModelExport } from "../core/model/folder/export_of.ts";
import { resolveModelDir } from "../core/model/folder/resolve.ts";
import { type Device, type Tensor, tidy } from "../core/runtime.ts";
import { deviceFlags, initDevice } from "../core/device_init.ts";

const cmd = defineCommand({
  name: "bench:model",
  summary: "Prefill and decode tokens/s of the model: our forward with its KV cache beside onnxruntime-web.",
  description: "Every engine gets the same prompt tokens and pixels (one 224² image), one warm-up pass (shader " +
    "compilation / JIT excluded), prefill timed as the mean of 3 runs without the vision encoder (timed " +
    "separately), and N greedy decode steps with the cache. --model takes a training run, an export, a model " +
    "folder or a step checkpoint (one without an export is exported to a temp folder first). Without --model it " +
    "exports the seeded random tiny model to a temp folder.",
  flags: {
    model: flag.string("training run, export, model folder or step checkpoint", { placeholder: "DIR" }),
    engines: flag.string("engines to compare, comma-separated: ours-wasm, ours-webgpu, wasm, webgpu", {
      default: "ours-wasm,ours-webgpu,wasm,webgpu",
      placeholder: "LIST",
    }),
    decode: flag.int("greedy decode steps timed per engine", { default: 16, min: 1 }),
    json: flag.string("where to write the results", { default: "runs/bench_model.json", placeholder: "FILE" }),
    threads: deviceFlags.threads,
  },
  check: (v) => {
    for (const e of v.engines.split(",")) {
      if (!["ours-wasm", "ours-webgpu", "wasm", "webgpu"].includes(e)) {
        throw new Error(`--engines: unknown engine "${e}" (expected ours-wasm, ours-webgpu, wasm, webgpu)`);
      }
    }
  },
});
const values = parseFlagsOrExit(cmd, Deno.args);

let modelExport: ModelExport | null = null;
let tmp: string | null = null;
let dir: string;
if (values.model) {
  const resolved = resolveModelDir(values.model);
  console.log(`model: ${resolved.description}`);
  modelExport = await exportOf(resolved, (l) => console.log(l));
  dir = modelExport.dir;
} else {
  dir = tmp = await Deno.makeTempDir();
  await exportHeadFreeModel(TINY_CONFIG, initParameters(TINY_CONFIG, 0), buildTinyTokenizerJson(), dir);
  console.log(`exported the seeded random tiny model to ${dir}`);
}
const rng = new Rng(1);
const image = { width: 224, height: 224, data: Uint8Array.from({ length: 224 * 224 * 3 }, () => rng.int(256)) };
const messages = [{
  role: "user" as const,
  content: [{ type: "image" as const, image }, {
    type: "text" as const,
    text: "How many red chairs are left of the table?",
  }],
}];

type Engine = "ours-wasm" | "ours-webgpu" | "wasm" | "webgpu";
interface EngineResult extends Omit<OrtBenchResult, "executionProvider" | "sessionMs"> {
  engine: string;
  /** Model load: ORT session creation, or weights read from the ONNX files + upload (ours). */
  sessionMs: number;
}

/** Time a GPU step to completion: run it in a tidy scope, read the (1, V) logits back, free them. */
async function timedLogits(step: () => Tensor): Promise<{ logits: Float32Array; ms: number }> {
  const t0 = performance.now();
  const t = tidy(step);
  const logits = await t.toArray();
  t.dispose();
  return { logits, ms: performance.now() - t0 };
}

/** Our forward on the export dir's weights: the prompt as OrtVlmRunner.prepare builds it (same tokens, pixels). */
async function benchOurs(device: Device, dir: string, msgs: ChatMessage[], nDecode: number): Promise<EngineResult> {
  const reps = 3;
  await initDevice({ device, threads: values.threads, log: null });
  const t0 = performance.now();
  const loaded = await loadExportDir(dir);
  const model = new VlmModel(loaded.config, loaded.weights);
  const sessionMs = performance.now() - t0;
  const tok = TextTokenizer.fromJson(loaded.tokenizerJson);
  const input = encodePrompt(loaded.config, tok, msgs);
  const pv = input.images[0];
  try {
    const run = async () => {
      const vision = await timedLogits(() => model.vision(pv.pixelValues, [pv.gridThw]));
      const held: { cache?: VlmKvCache } = {};
      const pre = await timedLogits(() => {
        const r = model.prefill(input);
        held.cache = r.cache;
        return r.logits;
      });
      return { visionMs: vision.ms, prefillMs: pre.ms, logits: pre.logits, cache: held.cache! };
    };
    const warm = await run(); // warm-up: vision, decoder and decode-step kernels compile here
    await timedLogits(() => model.decodeStep(argmax(warm.logits), warm.cache));
    warm.cache.dispose();
    let visionMs = 0, prefillMs = 0;
    let last = warm;
    for (let r = 0; r < reps; r++) {
      if (r > 0) last.cache.dispose();
      last = await run();
      visionMs += last.visionMs / reps;
      prefillMs += last.prefillMs / reps;
    }
    let next = argmax(last.logits);
    const td = performance.now();
    for (let i = 0; i < nDecode; i++) {
      next = argmax((await timedLogits(() => model.decodeStep(next, last.cache))).logits);
    }
    const decodeMs = performance.now() - td;
    last.cache.dispose();
    const T = input.inputIds.length;
    return {
      engine: `ours-${device}`,
      sessionMs,
      promptTokens: T,
      visionMs,
      // prefill runs the vision tower too; subtract its separately timed cost so the figure is decoder-only like ORT's
      prefillTokensPerSec: T / (Math.max(1e-3, prefillMs - visionMs) / 1000),
      decodeTokensPerSec: nDecode / (decodeMs / 1000),
      decodeTokens: nDecode,
    };
  } finally {
    model.dispose();
  }
}

const results: EngineResult[] = [];
const engines = values.engines.split(",") as Engine[];
const hasGpu = !!(await navigator.gpu?.requestAdapter().catch(() => null));
try {
  for (const e of engines) {
    if (e.endsWith("webgpu") && !hasGpu) {
      console.log(`${e}: no WebGPU adapter, skipped`);
      continue;
    }
    const r = e.startsWith("ours-")
      ? await benchOurs(e === "ours-wasm" ? "wasm" : "webgpu", dir, messages, values.decode)
      : await benchOrtModel(dir, e as "wasm" | "webgpu", messages, { decodeTokens: values.decode }).then((o) => ({
        ...o,
        engine: `onnxruntime-web-${o.executionProvider}`,
      }));
    results.push(r);
    console.log(
      `${r.engine.padEnd(22)} prompt ${r.promptTokens} tok | vision ${r.visionMs.toFixed(0)} ms | prefill ` +
        `${r.prefillTokensPerSec.toFixed(1)} tok/s | decode ${r.decodeTokensPerSec.toFixed(1)} tok/s | load ${
          r.sessionMs.toFixed(0)
        } ms`,
    );
  }
} finally {
  if (tmp) await Deno.remove(tmp, { recursive: true });
  await modelExport?.dispose();
}
const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
console.log("\n| engine | prompt tok | vision ms | prefill tok/s | decode tok/s |\n|---|---|---|---|---|");
for (const r of results) {
  console.log(
    `| ${r.engine} | ${r.promptTokens} | ${r.visionMs.toFixed(0)} | ${r.prefillTokensPerSec.toFixed(1)} | ${
      r.decodeTokensPerSec.toFixed(1)
    } |`,
  );
}
await writeFileAtomic(
  resolve(values.json),
  JSON.stringify({ adapter: adapter?.info?.description ?? null, results }, null, 2) + "\n",
);
console.log(`wrote ${resolve(values.json)}`);
