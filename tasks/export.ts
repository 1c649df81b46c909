/**
 * deno task export — writes the head-free model (vision.onnx, decoder.onnx, config.json, tokenizer.json,
 * export.json) for onnxruntime-web. `--help` lists the flags.
 */
import { resolve } from "node:path";
import { defineCommand, flag, runCommand } from "../core/cli.ts";
import { TINY_CONFIG } from "../core/model/config.ts";
import { initParameters } from "../core/model/init.ts";
import { exportHeadFreeModel } from "../core/model/export_onnx.ts";
import { loadModel } from "../core/model/folder/load.ts";
import { resolveModelDir } from "../core/model/folder/resolve.ts";
import { buildTinyTokenizerJson } from "../core/text/build_tokenizer.ts";
import { ConfigError } from "../core/errors.ts";
import { exportRunAsHfFolder } from "../train/export_run.ts";

const cmd = defineCommand({
  name: "export",
  summary: "Write the head-free model as ONNX (vision encoder + decoder with KV cache) for onnxruntime-web.",
  description: "With no --model it exports the embedded tiny model with seeded RANDOM weights (no training has run). " +
    "--model takes a training run folder (its export/, else its latest checkpoint), an export folder, a model " +
    "folder (a base) or a step checkpoint (LoRA folded into the base it names), and prints which one it resolved; " +
    "training itself exports its merged (LoRA-folded, head-free) weights to RUN/export.",
  flags: {
    model: flag.string("training run, export, model folder or step checkpoint to export", { placeholder: "DIR" }),
    out: flag.string("output folder", { default: "out/export", placeholder: "DIR" }),
    seed: flag.int("seed of the random tiny weights (without --model)", { default: 0, min: 0 }),
    externalData: flag.boolean("store weights as external data beside the .onnx files (one file per tensor)"),
    format: flag.choice(["onnx", "safetensors"] as const, "onnx graphs, or a Hugging Face folder (needs a GASP run)", {
      default: "onnx",
    }),
  },
});

await runCommand(cmd, Deno.args, async (a) => {
  const outDir = resolve(a.out);
  const t0 = performance.now();
  if (a.format === "safetensors") {
    if (!a.model) throw new ConfigError("--model", "--format safetensors needs a GASP run folder (its base + adapter)");
    const r = await exportRunAsHfFolder(a.model, outDir);
    console.log(`exported ${resolve(a.model)} merged into its base ${r.base} (${r.dtype}, ${r.layout} key layout)`);
    for (const f of r.files) console.log(`  ${resolve(outDir, f)}`);
    console.log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    return;
  }
  let source: string;
  let model;
  if (a.model) {
    const resolved = resolveModelDir(a.model);
    console.log(`model: ${resolved.description}`);
    model = await loadModel(resolved);
    source = `${resolved.label} (${resolved.kind})`;
  } else {
    model = {
      config: TINY_CONFIG,
      weights: initParameters(TINY_CONFIG, a.seed),
      tokenizerJson: buildTinyTokenizerJson(),
    };
    source = `tiny config with seeded RANDOM weights (seed ${a.seed}; untrained - pass --model for a trained model)`;
  }
  const manifest = await exportHeadFreeModel(model.config, model.weights, model.tokenizerJson, outDir, {
    externalData: a.externalData || undefined,
  });
  console.log(`exported ${source}`);
  console.log(
    `  ${manifest.parameters.toLocaleString("en")} parameters, opset ${manifest.opset}, ` +
      `external data: ${manifest.externalData}`,
  );
  for (const f of Object.values(manifest.files)) console.log(`  ${resolve(outDir, f)}`);
  console.log(`  ${resolve(outDir, "export.json")}  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
});
