/**
 * A Hugging Face Qwen2.5-VL folder as downloaded, read into the pieces our model needs: config.json (HF defaults,
 * flat or nested), the weights (single or sharded safetensors, F32/F16/BF16, either key layout, tied or untied),
 * tokenizer.json, and the processor files (chat template, pixel limits, mean/std). Weights are read one tensor at a
 * time; `onTensor` lets a caller move each one to the device and drop the host copy, so host memory stays about
 * the largest tensor.
 */
import { join } from "node:path";
import { DataFormatError } from "../errors.ts";
import type { StoredDType } from "../io/safetensors_stream.ts";
import { parseVlmConfig, type VlmConfig } from "./config.ts";
import { type HfProcessorConfig, readHfProcessorConfig } from "./hf_processor.ts";
import { type KeyLayout, openHfWeights } from "./hf_weights.ts";
import type { Weights } from "./init.ts";

export interface HfFolderInfo {
  dir: string;
  config: VlmConfig;
  /** The config.json body as the file has it (exports copy the file itself). */
  rawConfig: Record<string, unknown>;
  tokenizerJson: string;
  processor: HfProcessorConfig;
  keyLayout: KeyLayout;
  storedDType: StoredDType;
  /** File keys this config does not read (logged by callers). */
  unusedTensors: string[];
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    throw new DataFormatError(path, "(file)", what);
  }
}

/**
 * Reads `dir`. Each weight goes to `onTensor(name, values)` as it is read (default: collected into the returned map).
 */
export async function readHfFolder(
  dir: string,
  onTensor?: (name: string, values: Float32Array) => void | Promise<void>,
): Promise<HfFolderInfo & { weights: Weights }> {
  const configPath = join(dir, "config.json");
  let rawConfig: Record<string, unknown>;
  try {
    rawConfig = JSON.parse(await readText(configPath, "an HF config.json (model folder)"));
  } catch (e) {
    if (e instanceof DataFormatError) throw e;
    throw new DataFormatError(configPath, "(contents)", "JSON", (e as Error).message);
  }
  const config = parseVlmConfig(rawConfig);
  const tokenizerJson = await readText(join(dir, "tokenizer.json"), "the model's tokenizer.json");
  const processor = readHfProcessorConfig(dir, config);
  const src = await openHfWeights(dir, config);
  const weights: Weights = new Map();
  try {
    for (const name of src.names) {
      const v = await src.read(name);
      if (onTensor) await onTensor(name, v);
      else weights.set(name, v);
    }
  } finally {
    src.close();
  }
  return {
    dir,
    config,
    rawConfig,
    tokenizerJson,
    processor,
    keyLayout: src.layout,
    storedDType: src.storedDType,
    unusedTensors: src.unused,
    weights,
  };
}
