/**
 * A resolved model path (core/model/folder/resolve.ts) opened for streaming: config, tokenizer and processor files
 * in memory, the weights as a WeightReader read tensor by tensor (core/model/weight_reader.ts). An HF model folder
 * streams from its safetensors, so a multi-GB checkpoint loads onto a device (VlmModel.load) without a host copy;
 * exports and step checkpoints are read whole (loadModel) and served from memory.
 */
import { parameterShapes } from "../init.ts";
import type { KeyLayout } from "../hf_weights.ts";
import { openHfWeights } from "../hf_weights.ts";
import type { HfProcessorConfig } from "../hf_processor.ts";
import type { VlmConfig } from "../config.ts";
import { mapWeightReader, type WeightReader } from "../weight_reader.ts";
import { loadModel } from "./load.ts";
import { readModelFolderMeta } from "./model_folder.ts";
import type { ResolvedModelDir } from "./resolve.ts";

export interface OpenModel {
  config: VlmConfig;
  tokenizerJson: string;
  keyLayout?: KeyLayout;
  processor?: HfProcessorConfig;
  weights: WeightReader;
  /** The HF model folder the weights stream from; null when they are in host memory. */
  folder: string | null;
  close(): void;
}

export async function openModel(r: ResolvedModelDir): Promise<OpenModel> {
  if (r.source.format === "model-folder") {
    const dir = r.source.dir;
    const meta = await readModelFolderMeta(dir);
    const src = await openHfWeights(dir, meta.config);
    return { ...meta, keyLayout: src.layout, weights: src, folder: dir, close: () => src.close() };
  }
  const m = await loadModel(r);
  return { ...m, weights: mapWeightReader(m.weights, parameterShapes(m.config)), folder: null, close: () => {} };
}
