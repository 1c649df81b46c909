/**
 * deno task export [--checkpoint DIR] [--out DIR] [--seed S] [--external-data]
 * Writes the head-free model (vision.onnx, decoder.onnx, config.json, tokenizer.json, export.json) for
 * onnxruntime-web. With no --checkpoint it exports the embedded tiny model with seeded RANDOM weights (no training
 * has run). --checkpoint takes a model dir (config.json + tokenizer.json + *.onnx by HF names) and re-exports it;
 * training calls exportHeadFreeModel() itself with its merged (LoRA-folded, head-free) weights.
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { ConfigError } from "../core/errors.ts";
import { TINY_CONFIG } from "../core/model/config.ts";
import { initParameters } from "../core/model/init.ts";
import { exportHeadFreeModel, loadExportDir } from "../core/model/export_onnx.ts";
import { buildTinyTokenizerJson } from "../core/text/build_tokenizer.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    checkpoint: { type: "string" },
    out: { type: "string", default: "out/export" },
    seed: { type: "string", default: "0" },
    "external-data": { type: "boolean", default: false },
  },
  strict: true,
});

const seed = Number(values.seed);
if (!Number.isInteger(seed) || seed < 0) {
  throw new ConfigError("--seed", `a non-negative integer, got "${values.seed}"`);
}
const outDir = resolve(values.out);
const t0 = performance.now();
let source: string;
let model;
if (values.checkpoint) {
  model = await loadExportDir(resolve(values.checkpoint));
  source = `model dir ${resolve(values.checkpoint)}`;
} else {
  model = { config: TINY_CONFIG, weights: initParameters(TINY_CONFIG, seed), tokenizerJson: buildTinyTokenizerJson() };
  source = `tiny config with seeded RANDOM weights (seed ${seed}; untrained - pass --checkpoint for a trained model)`;
}
const manifest = await exportHeadFreeModel(model.config, model.weights, model.tokenizerJson, outDir, {
  externalData: values["external-data"] || undefined,
});
console.log(`exported ${source}`);
console.log(
  `  ${
    manifest.parameters.toLocaleString("en")
  } parameters, opset ${manifest.opset}, external data: ${manifest.externalData}`,
);
for (const f of Object.values(manifest.files)) console.log(`  ${resolve(outDir, f)}`);
console.log(`  ${resolve(outDir, "export.json")}  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
