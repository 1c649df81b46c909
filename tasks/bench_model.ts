/**
 * deno task bench:model [--model DIR] [--ep wasm,webgpu] [--decode N] [--out FILE]
 * Prefill and decode tokens/s of the tiny model on onnxruntime-web (WASM EP and WebGPU EP) running the exported
 * graphs, for one prompt with a 224² image. Without --model it exports the seeded random tiny model to a temp dir.
 * (Our own WebGPU forward, core/model/vlm.ts, is not benchmarked here yet.)
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { writeFileAtomic } from "../core/io/atomic.ts";
import { TINY_CONFIG } from "../core/model/config.ts";
import { initParameters } from "../core/model/init.ts";
import { exportHeadFreeModel } from "../core/model/export_onnx.ts";
import { benchOrtModel, type OrtBenchResult } from "../core/model/bench_ort.ts";
import { buildTinyTokenizerJson } from "../core/text/build_tokenizer.ts";
import { Rng } from "../core/random.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string" },
    ep: { type: "string", default: "wasm,webgpu" },
    decode: { type: "string", default: "16" },
    out: { type: "string", default: "runs/bench_model.json" },
  },
  strict: true,
});

let dir = values.model ? resolve(values.model) : "";
const tmp = dir ? null : await Deno.makeTempDir();
if (tmp) {
  dir = tmp;
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
const results: OrtBenchResult[] = [];
try {
  for (const ep of values.ep.split(",") as ("wasm" | "webgpu")[]) {
    if (ep === "webgpu" && !(await navigator.gpu?.requestAdapter().catch(() => null))) {
      console.log("webgpu: no WebGPU adapter, skipped");
      continue;
    }
    const r = await benchOrtModel(dir, ep, messages, { decodeTokens: Number(values.decode) });
    results.push(r);
    console.log(
      `onnxruntime-web ${ep.padEnd(6)} prompt ${r.promptTokens} tok | vision ${r.visionMs.toFixed(0)} ms | prefill ` +
        `${r.prefillTokensPerSec.toFixed(1)} tok/s | decode ${r.decodeTokensPerSec.toFixed(1)} tok/s | session ${
          r.sessionMs.toFixed(0)
        } ms`,
    );
  }
} finally {
  if (tmp) await Deno.remove(tmp, { recursive: true });
}
const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
await writeFileAtomic(
  resolve(values.out),
  JSON.stringify({ adapter: adapter?.info?.description ?? null, results }, null, 2) + "\n",
);
console.log(`wrote ${resolve(values.out)}`);
