/**
 * A model folder as Hugging Face lays one out, the form a base model takes on disk:
 *   config.json        the model config (VlmConfig, HF names and defaults)
 *   model.safetensors  every parameter under its HF name (model.layers.{i}.self_attn.q_proj.weight, …), F32
 *   tokenizer.json     the tokenizer (HF tokenizers format)
 * `deno task train --stage base` writes one; GASP runs read their frozen base from one. A Hugging Face folder as
 * downloaded reads the same way: sharded weights (model-0000k-of-0000n.safetensors + model.safetensors.index.json),
 * F16/BF16 storage, either key layout, tied or untied embeddings (core/model/hf_weights.ts), streamed tensor by
 * tensor; config.json with HF's class defaults (core/model/hf_defaults.ts); tokenizer_config.json and
 * preprocessor_config.json (core/model/hf_processor.ts).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DataFormatError } from "../../errors.ts";
import { writeFileAtomic } from "../../io/atomic.ts";
import { encodeSafetensors, type NamedTensor } from "../../io/safetensors.ts";
import { parseVlmConfig, type VlmConfig } from "../config.ts";
import { parameterShapes, type Weights } from "../init.ts";
import { SafetensorsShards } from "../../io/safetensors_stream.ts";
import { type KeyLayout, openHfWeights } from "../hf_weights.ts";
import { type HfProcessorConfig, readHfProcessorConfig } from "../hf_processor.ts";

/** File names of a model folder. */
export const MODEL_FOLDER_FILES = {
  weights: "model.safetensors",
  config: "config.json",
  tokenizer: "tokenizer.json",
} as const;

/** A model in memory: its config, HF-named f32 weights and tokenizer.json text. */
export interface ModelFolder {
  config: VlmConfig;
  weights: Weights;
  tokenizerJson: string;
  /** Read from a folder: its checkpoint key layout and processor files (chat template, pixel limits, mean/std). */
  keyLayout?: KeyLayout;
  processor?: HfProcessorConfig;
}

/** True when `dir` holds config.json, tokenizer.json and model.safetensors (or a sharded index). */
export function isModelFolder(dir: string): boolean {
  return existsSync(join(dir, MODEL_FOLDER_FILES.config)) && existsSync(join(dir, MODEL_FOLDER_FILES.tokenizer)) &&
    SafetensorsShards.exists(dir);
}

/** A model folder's files besides its weights (config, tokenizer, processor files). */
export type ModelFolderMeta = Omit<ModelFolder, "weights" | "keyLayout">;

/** Reads a model folder's config, tokenizer and processor files (not its weights); errors name the file. */
export async function readModelFolderMeta(dir: string): Promise<ModelFolderMeta> {
  const read = async <T>(name: string, parse: (bytes: Uint8Array, path: string) => T): Promise<T> => {
    const path = join(dir, name);
    const bytes = await Deno.readFile(path).catch(() => {
      throw new DataFormatError(
        path,
        "(file)",
        `a model folder (${
          Object.values(MODEL_FOLDER_FILES).join(", ")
        }; train one with \`deno task train --stage base\`)`,
      );
    });
    return parse(bytes, path);
  };
  const config = await read(MODEL_FOLDER_FILES.config, (b, path) => {
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder().decode(b));
    } catch (e) {
      throw new DataFormatError(path, "(contents)", "JSON", (e as Error).message);
    }
    return parseVlmConfig(raw);
  });
  const tokenizerJson = await read(MODEL_FOLDER_FILES.tokenizer, (b) => new TextDecoder().decode(b));
  if (!SafetensorsShards.exists(dir)) {
    throw new DataFormatError(
      join(dir, MODEL_FOLDER_FILES.weights),
      "(file)",
      "the model's weights (or a sharded index)",
    );
  }
  return { config, tokenizerJson, processor: readHfProcessorConfig(dir, config) };
}

/**
 * Reads a model folder whole into host memory (f32 weights); a missing or malformed file is a DataFormatError
 * naming it. Training and large models stream instead (core/model/folder/open.ts).
 */
export async function readModelFolder(dir: string): Promise<ModelFolder> {
  const meta = await readModelFolderMeta(dir);
  // Tensor by tensor: the host holds the f32 weights plus one tensor's stored bytes at a time.
  const src = await openHfWeights(dir, meta.config);
  const weights: Weights = new Map();
  try {
    for (const name of src.names) weights.set(name, await src.read(name));
  } finally {
    src.close();
  }
  return { ...meta, weights, keyLayout: src.layout };
}

/** Writes a model folder (each file atomically); weights are stored F32 with the config's parameter shapes. */
export async function writeModelFolder(dir: string, m: ModelFolder): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const shapes = parameterShapes(m.config);
  const tensors = new Map<string, NamedTensor>(
    [...m.weights].map(([n, d]) => [n, { shape: shapes.get(n)!, data: d }]),
  );
  await writeFileAtomic(join(dir, MODEL_FOLDER_FILES.weights), encodeSafetensors(tensors, { format: "pt" }));
  await writeFileAtomic(join(dir, MODEL_FOLDER_FILES.config), JSON.stringify(m.config, null, 2) + "\n");
  await writeFileAtomic(join(dir, MODEL_FOLDER_FILES.tokenizer), m.tokenizerJson);
}
