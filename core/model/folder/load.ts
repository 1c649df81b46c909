/**
 * A resolved model path (core/model/folder/resolve.ts) → config, HF-named f32 weights and tokenizer, from whichever
 * form it has: an ONNX export (initializers by HF name), a model folder, or a step checkpoint. A GASP checkpoint
 * holds LoRA adapters (PEFT names) for the base named in its state.json; they are folded in as W + (α/r)·B·A with
 * α and r from its config.json, the same merge training's export does. A `--stage base` checkpoint holds every
 * parameter; its architecture and tokenizer are the run folder's (written when the run finishes), else the embedded
 * tiny ones (the only architecture `deno task train --stage base` builds), checked against the stored shapes.
 */
import { join, resolve } from "node:path";
import { DataFormatError } from "../../errors.ts";
import { decodeSafetensors } from "../../io/safetensors.ts";
import { buildTinyTokenizerJson } from "../../text/build_tokenizer.ts";
import { TINY_CONFIG } from "../config.ts";
import { loadExportDir } from "../export_onnx.ts";
import { parameterShapes, type Weights } from "../init.ts";
import { type HostLoraAdapter, mergeLoraWeights } from "../lora_merge.ts";
import { readCheckpointFiles } from "./checkpoint_files.ts";
import { isModelFolder, type ModelFolder, readModelFolder } from "./model_folder.ts";
import { type ResolvedModelDir, resolveModelDir } from "./resolve.ts";

/** The model a resolved path names, in memory. */
export async function loadModel(r: ResolvedModelDir): Promise<ModelFolder> {
  const s = r.source;
  if (s.format === "export") return await loadExportDir(s.dir);
  if (s.format === "model-folder") return await readModelFolder(s.dir);
  return await loadCheckpointModel(s.dir);
}

async function loadCheckpointModel(dir: string): Promise<ModelFolder> {
  const { files } = await readCheckpointFiles(dir);
  const dec = new TextDecoder();
  const statePath = join(dir, "state.json"), configPath = join(dir, "config.json");
  const state = JSON.parse(dec.decode(files["state.json"]));
  const config = JSON.parse(dec.decode(files["config.json"]));
  const tensors = decodeSafetensors(files["adapters.safetensors"], join(dir, "adapters.safetensors")).tensors;
  if (config?.stage === "base") {
    const runDir = resolve(dir, "..");
    const arch = isModelFolder(runDir)
      ? await readModelFolder(runDir)
      : { config: TINY_CONFIG, tokenizerJson: buildTinyTokenizerJson(0) };
    const weights: Weights = new Map();
    for (const [name, shape] of parameterShapes(arch.config)) {
      const t = tensors.get(name);
      if (!t || t.shape.join(",") !== shape.join(",")) {
        throw new DataFormatError(join(dir, "adapters.safetensors"), name, `a tensor of shape [${shape}]`);
      }
      weights.set(name, Float32Array.from(t.data));
    }
    return { config: arch.config, weights, tokenizerJson: arch.tokenizerJson };
  }
  const baseRef = state?.base?.model;
  if (typeof baseRef !== "string") throw new DataFormatError(statePath, "base.model", "the base model's path");
  const rank = config?.lora?.rank, alpha = config?.lora?.alpha;
  if (!(Number.isInteger(rank) && rank > 0)) throw new DataFormatError(configPath, "lora.rank", "integer > 0");
  if (!(typeof alpha === "number" && alpha > 0)) throw new DataFormatError(configPath, "lora.alpha", "number > 0");
  const base = await loadModel(resolveModelDir(baseRef, `${statePath} base.model`));
  const adapters: HostLoraAdapter[] = [];
  for (const [name, A] of tensors) {
    const m = /^(.*)\.lora_A\.weight$/.exec(name);
    if (!m) continue;
    const B = tensors.get(`${m[1]}.lora_B.weight`);
    if (!B) {
      throw new DataFormatError(join(dir, "adapters.safetensors"), `${m[1]}.lora_B.weight`, "present with lora_A");
    }
    adapters.push({ module: m[1], rank: A.shape[0], A: A.data, B: B.data });
  }
  return { ...base, weights: mergeLoraWeights(base.weights, adapters, alpha / rank) };
}
