/**
 * `deno task export --format safetensors`: the merged, head-free model as a Hugging Face folder that transformers
 * loads with Qwen2_5_VLForConditionalGeneration.from_pretrained: the base folder's weights with every LoRA adapter
 * folded in (W' = W + (α/r)·B·A, as PEFT's merge_and_unload), in the base's key layout and storage dtype, sharded
 * like save_pretrained (5 GB shards + model.safetensors.index.json), and the base's config.json, tokenizer and
 * processor files copied byte for byte. Weights stream: one base tensor is in host memory at a time.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ShapeMismatchError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { type StoredDType, type TensorSource, writeShardedSafetensors } from "../io/safetensors_stream.ts";
import type { VlmConfig } from "./config.ts";
import { checkpointKey, openHfWeights } from "./hf_weights.ts";
import { mergeLoraWeights } from "./lora_merge.ts";

/** One LoRA adapter on the host, keyed by the base weight it adapts (our name, e.g. model.layers.0.…q_proj.weight). */
export interface FoldableAdapter {
  /** (R, I) row-major. */
  A: ArrayLike<number>;
  /** (O, R) row-major. */
  B: ArrayLike<number>;
  rank: number;
}

/** Files of a model folder besides its weights that an export carries over unchanged (when the base has them). */
export const FOLDER_SIDE_FILES = [
  "config.json",
  "generation_config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "added_tokens.json",
  "vocab.json",
  "merges.txt",
  "chat_template.json",
  "preprocessor_config.json",
  "video_preprocessor_config.json",
] as const;

/** W + scale · B · A for one weight (O, I), by the one LoRA merge (core/model/lora_merge.ts). */
export function foldLora(W: Float32Array, ad: FoldableAdapter, scale: number, name = "(weight)"): Float32Array {
  const module = name.endsWith(".weight") ? name.slice(0, -".weight".length) : name;
  return mergeLoraWeights(new Map([[`${module}.weight`, W]]), [{ module, ...ad }], scale).get(`${module}.weight`)!;
}

export interface HfExportOptions {
  /** The base model folder the run trained on (its weights stream from here; side files are copied from here). */
  baseDir: string;
  config: VlmConfig;
  /** Adapters by the base weight name they fold into. */
  adapters: Map<string, FoldableAdapter>;
  /** α / r. */
  scale: number;
  /** Storage dtype of the exported weights (default: the base's, e.g. BF16). */
  dtype?: StoredDType;
  /** Shard size (default transformers' 5 GB). */
  maxShardBytes?: number;
}

export interface HfExportResult {
  files: string[];
  dtype: StoredDType;
  layout: string;
}

/** Writes the merged head-free HF folder into `outDir`; returns the files written. */
export async function exportMergedHfFolder(outDir: string, o: HfExportOptions): Promise<HfExportResult> {
  const src = await openHfWeights(o.baseDir, o.config);
  try {
    for (const name of o.adapters.keys()) {
      if (!src.shapes.has(name)) throw new ShapeMismatchError("exportMergedHfFolder", `no base weight ${name}`);
    }
    const dtype = o.dtype ?? src.storedDType;
    const tensors: TensorSource[] = src.names.map((name) => ({
      name: checkpointKey(name, src.layout),
      shape: src.shapes.get(name)!,
      dtype,
      values: async () => {
        const w = await src.read(name);
        const ad = o.adapters.get(name);
        return ad ? foldLora(w, ad, o.scale, name) : w;
      },
    }));
    await Deno.mkdir(outDir, { recursive: true });
    const files = await writeShardedSafetensors(outDir, tensors, { maxShardBytes: o.maxShardBytes });
    for (const f of FOLDER_SIDE_FILES) {
      const from = join(o.baseDir, f);
      if (!existsSync(from)) continue;
      let bytes: Uint8Array | string = await Deno.readFile(from);
      if (f === "config.json" && o.config.frame_positions !== undefined) {
        // The run's M-RoPE frame layout (our field) goes with the model; every other field stays the base file's.
        const body = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
        bytes = JSON.stringify({ ...body, frame_positions: o.config.frame_positions }, null, 2) + "\n";
      }
      await writeFileAtomic(join(outDir, f), bytes);
      files.push(f);
    }
    if (!existsSync(join(o.baseDir, "config.json"))) {
      await writeFileAtomic(join(outDir, "config.json"), JSON.stringify(o.config, null, 2) + "\n");
      files.push("config.json");
    }
    return { files, dtype, layout: src.layout };
  } finally {
    src.close();
  }
}
