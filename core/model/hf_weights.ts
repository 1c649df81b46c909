/**
 * The weights of a Hugging Face Qwen2.5-VL folder, streamed tensor by tensor under our parameter names
 * (core/model/init.ts: the original checkpoint layout). Two key layouts exist in the wild:
 *   "original"      as Qwen published them and transformers < 4.52 saves:  model.layers.*, model.embed_tokens.*,
 *                   model.norm.*, visual.*, lm_head.weight
 *   "language-model" as transformers ≥ 4.52 saves (Qwen2_5_VLModel wraps both towers):  model.language_model.*,
 *                   model.visual.*, lm_head.weight
 * Tied embeddings (3B): the head reads model.embed_tokens; a file may omit lm_head.weight (transformers does) or
 * carry a copy, which is then not read. Untied (7B): lm_head.weight must be there.
 */
import { DataFormatError } from "../errors.ts";
import { SafetensorsShards } from "../io/safetensors_stream.ts";
import type { VlmConfig } from "./config.ts";
import { parameterShapes } from "./init.ts";
import type { WeightReader } from "./weight_reader.ts";

export type KeyLayout = "original" | "language-model";

/** Our (original-layout) name → the key in a file of `layout`. */
export function checkpointKey(name: string, layout: KeyLayout): string {
  if (layout === "original") return name;
  if (name.startsWith("visual.")) return "model." + name;
  if (name.startsWith("model.")) return "model.language_model." + name.slice("model.".length);
  return name;
}

/** The layout of a set of checkpoint keys (the new one is recognised by its `model.language_model.` prefix). */
export function detectKeyLayout(keys: Iterable<string>, file = "(weights)"): KeyLayout {
  let original = false, languageModel = false;
  for (const k of keys) {
    if (k.startsWith("model.language_model.") || k.startsWith("model.visual.")) languageModel = true;
    else if (k.startsWith("model.layers.") || k.startsWith("visual.") || k === "model.embed_tokens.weight") {
      original = true;
    }
  }
  if (original && languageModel) {
    throw new DataFormatError(
      file,
      "(tensor names)",
      "one key layout",
      "mixes model.layers.* and model.language_model.*",
    );
  }
  return languageModel ? "language-model" : "original";
}

/** An open folder's weights: read(name) / chunks(name) by our name; close() when done. */
export interface HfWeightSource extends WeightReader {
  layout: KeyLayout;
  /** File keys no parameter of this config reads (e.g. a tied copy of lm_head.weight). */
  unused: string[];
}

/**
 * Opens `dir`'s safetensors (single or sharded) for `config`: every parameter must be present with its shape,
 * checked before any tensor data is read.
 */
export async function openHfWeights(dir: string, config: VlmConfig): Promise<HfWeightSource> {
  const shards = await SafetensorsShards.open(dir);
  try {
    const layout = detectKeyLayout(shards.names, dir);
    const shapes = parameterShapes(config);
    const keyOf = new Map<string, string>();
    for (const [name, shape] of shapes) {
      const key = checkpointKey(name, layout);
      const e = shards.entries.get(key);
      if (!e) {
        const hint = name === "lm_head.weight"
          ? " (config.json says tie_word_embeddings: false; a tied checkpoint has no lm_head.weight)"
          : "";
        throw new DataFormatError(dir, key, `a tensor of shape [${shape}] (${layout} key layout)${hint}`);
      }
      if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) {
        throw new DataFormatError(e.file, `${key}.shape`, `[${shape}] from config.json`, `got [${e.shape}]`);
      }
      keyOf.set(name, key);
    }
    const used = new Set(keyOf.values());
    const keyFor = (name: string): string => {
      const key = keyOf.get(name);
      if (!key) throw new DataFormatError(dir, name, "a parameter of this model");
      return key;
    };
    return {
      layout,
      storedDType: shards.storedDType(),
      names: [...shapes.keys()],
      shapes,
      unused: shards.names.filter((k) => !used.has(k)).sort(),
      read: (name: string) => shards.readF32(keyFor(name)),
      chunks: (name: string, maxElems: number) => shards.chunksF32(keyFor(name), maxElems),
      close: () => shards.close(),
    };
  } catch (e) {
    shards.close();
    throw e;
  }
}
