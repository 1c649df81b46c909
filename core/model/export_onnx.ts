/**
 * Export the head-free model (merged weights; GASP heads are never part of it) as an onnxruntime-web-ready dir:
 *   vision.onnx    vision tower + merger (core/model/onnx_vision_graph.ts documents its inputs)
 *   decoder.onnx   language model with KV cache (core/model/onnx_decoder_graph.ts documents its inputs)
 *   config.json    the HF-style VlmConfig
 *   tokenizer.json the tokenizer (HF format)
 *   export.json    format version, opset, file list, parameter count
 * Initializers keep the Hugging Face names and shapes, so core/onnx/read.ts loads them back bit for bit.
 */
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";
import { DataFormatError, ShapeMismatchError } from "../errors.ts";
import { writeOnnxModel } from "../onnx/write.ts";
import { loadOnnxWeights, type NameMap } from "../onnx/read.ts";
import { parseVlmConfig, type VlmConfig } from "./config.ts";
import { numel, parameterShapes } from "./init.ts";
import { buildDecoderGraph } from "./onnx_decoder_graph.ts";
import { buildVisionGraph } from "./onnx_vision_graph.ts";

export const EXPORT_FORMAT_VERSION = 1;
export const EXPORT_OPSET = 17;

export interface ExportManifest {
  formatVersion: number;
  opset: number;
  files: { vision: string; decoder: string; config: string; tokenizer: string };
  parameters: number;
  externalData: boolean;
}

/** Check that `weights` holds every parameter of `config` with its HF element count; throws naming the first bad one. */
export function checkWeights(config: VlmConfig, weights: Map<string, Float32Array>): void {
  for (const [name, shape] of parameterShapes(config)) {
    const t = weights.get(name);
    if (!t) throw new ShapeMismatchError("exportHeadFreeModel", `missing parameter ${name} [${shape}]`);
    if (t.length !== numel(shape)) {
      throw new ShapeMismatchError(
        "exportHeadFreeModel",
        `parameter ${name}: expected [${shape}] = ${numel(shape)} values, got ${t.length}`,
      );
    }
  }
}

/**
 * Write the export dir. `externalData` (default: when the weights exceed 1.5 GB) stores each tensor in its own file
 * under `vision.onnx_data/` / `decoder.onnx_data/` beside the graphs (core/onnx/write.ts).
 */
export async function exportHeadFreeModel(
  config: VlmConfig,
  weights: Map<string, Float32Array>,
  tokenizerJson: string,
  outDir: string,
  opts: { externalData?: boolean } = {},
): Promise<ExportManifest> {
  checkWeights(config, weights);
  const parameters = [...parameterShapes(config).values()].reduce((s, x) => s + numel(x), 0);
  const externalData = opts.externalData ?? parameters * 4 > 1.5e9;
  await Deno.mkdir(outDir, { recursive: true });
  const doc = "GASP-TS head-free Qwen2.5-VL-style export; see export.json";
  await writeOnnxModel(join(outDir, "vision.onnx"), buildVisionGraph(config, weights).toModel(EXPORT_OPSET, doc), {
    externalData,
  });
  await writeOnnxModel(join(outDir, "decoder.onnx"), buildDecoderGraph(config, weights).toModel(EXPORT_OPSET, doc), {
    externalData,
  });
  await writeFileAtomic(join(outDir, "config.json"), JSON.stringify(config, null, 2) + "\n");
  await writeFileAtomic(join(outDir, "tokenizer.json"), tokenizerJson);
  const manifest: ExportManifest = {
    formatVersion: EXPORT_FORMAT_VERSION,
    opset: EXPORT_OPSET,
    files: { vision: "vision.onnx", decoder: "decoder.onnx", config: "config.json", tokenizer: "tokenizer.json" },
    parameters,
    externalData,
  };
  await writeFileAtomic(join(outDir, "export.json"), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

export interface LoadedModel {
  config: VlmConfig;
  weights: Map<string, Float32Array>;
  tokenizerJson: string;
}

/**
 * Load a model from an export dir (config.json, tokenizer.json, vision.onnx, decoder.onnx - ours or any export
 * whose initializers carry the HF names, or names mapped by `nameMap`).
 */
export async function loadExportDir(dir: string, opts: { nameMap?: NameMap } = {}): Promise<LoadedModel> {
  const configPath = join(dir, "config.json");
  const raw = await Deno.readTextFile(configPath).catch(() => {
    throw new DataFormatError(configPath, "(file)", "an HF-style config.json in the model dir");
  });
  const config = parseVlmConfig(JSON.parse(raw));
  const tokenizerJson = await Deno.readTextFile(join(dir, "tokenizer.json")).catch(() => {
    throw new DataFormatError(join(dir, "tokenizer.json"), "(file)", "a tokenizer.json in the model dir");
  });
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile && e.name.endsWith(".onnx")) files.push(join(dir, e.name));
  if (!files.length) throw new DataFormatError(dir, "*.onnx", "at least one .onnx file holding the weights");
  const weights = await loadOnnxWeights(files.sort(), parameterShapes(config), opts);
  return { config, weights, tokenizerJson };
}
