/**
 * A GASP run as a Hugging Face model folder (`deno task export --format safetensors --model RUN`): the run's latest
 * checkpoint's LoRA adapter folded into the base folder it trained on (core/model/hf_export.ts), heads dropped.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError, DataFormatError } from "../core/errors.ts";
import { parseVlmConfig } from "../core/model/config.ts";
import { exportMergedHfFolder, type FoldableAdapter, type HfExportResult } from "../core/model/hf_export.ts";
import { loadCheckpoint } from "./checkpoint.ts";
import { isLoraName } from "./peft_adapter.ts";

export async function exportRunAsHfFolder(runDir: string, outDir: string): Promise<HfExportResult & { base: string }> {
  const ck = await loadCheckpoint(runDir);
  const base = resolve(ck.base.model);
  if (!existsSync(join(base, "config.json"))) {
    throw new ConfigError(
      "--model",
      `the run's base "${ck.base.model}" is not a model folder (no config.json); a base trained from scratch is ` +
        "exported by --format onnx",
    );
  }
  const baseConfig = parseVlmConfig(JSON.parse(await Deno.readTextFile(join(base, "config.json"))));
  // The run's M-RoPE frame layout (issue 13 item 6) belongs to the merged model: its config.json records it.
  const fp = ck.config.data.framePositions;
  const config = (baseConfig.frame_positions ?? "images") === fp ? baseConfig : { ...baseConfig, frame_positions: fp };
  const byModule = new Map<string, { A?: Float32Array | Float64Array; B?: Float32Array | Float64Array }>();
  for (const [name, t] of ck.adapters) {
    if (!isLoraName(name)) continue; // correspondence heads: not part of the exported model
    const module = name.replace(/\.lora_[AB]\.weight$/, "");
    const e = byModule.get(module) ?? {};
    if (name.endsWith(".lora_A.weight")) e.A = t.data;
    else e.B = t.data;
    byModule.set(module, e);
  }
  const adapters = new Map<string, FoldableAdapter>();
  for (const [module, e] of byModule) {
    if (!e.A || !e.B) throw new DataFormatError(runDir, `${module}.lora_${e.A ? "B" : "A"}.weight`, "present");
    adapters.set(`${module}.weight`, { A: e.A, B: e.B, rank: ck.config.lora.rank });
  }
  const r = await exportMergedHfFolder(outDir, {
    baseDir: base,
    config,
    adapters,
    scale: ck.config.lora.alpha / ck.config.lora.rank,
  });
  return { ...r, base };
}
