/**
 * A trained run (or any head-free export) as a correspondence-analysis feature source, for `deno task eval
 * --model DIR`: the merged head-free model that training exported (DIR/export, or DIR itself if it is an
 * export dir) is loaded onto the GPU and analysed exactly as App. C does (Q/K of the visual tokens per layer,
 * pre-RoPE, heads averaged). Head embeddings are a training-time quantity (the export has no heads); `deno task
 * train` reports their PCK itself.
 */
import { existsSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { LayerFeatureSource } from "../core/analysis/features.ts";
import { ConfigError } from "../core/errors.ts";
import { loadExportDir } from "../core/model/export_onnx.ts";
import { VlmModel } from "../core/model/vlm.ts";
import { initGpu } from "../core/runtime.ts";
import { TextTokenizer } from "../core/text/tokenizer.ts";
import { modelFeatureSources } from "./feature_source.ts";

/** DIR/export when present (a training run), else DIR (an export dir). */
export function exportDirOf(dir: string): string {
  const abs = resolve(dir);
  if (existsSync(join(abs, "export", "decoder.onnx"))) return join(abs, "export");
  if (existsSync(join(abs, "decoder.onnx"))) return abs;
  throw new ConfigError(
    "--model",
    `${abs} is neither a training run with an export/ folder nor an export dir (no decoder.onnx); ` +
      "run `deno task train` (or `deno task export`) first",
  );
}

/** Load a run's exported model and return its Q/K feature source, named after the run folder. */
export async function loadRunFeatureSource(dir: string): Promise<LayerFeatureSource> {
  const exportDir = exportDirOf(dir);
  await initGpu();
  const loaded = await loadExportDir(exportDir);
  const model = new VlmModel(loaded.config, loaded.weights);
  const tok = TextTokenizer.fromJson(loaded.tokenizerJson);
  const name = basename(exportDir) === "export" ? basename(resolve(exportDir, "..")) : basename(exportDir);
  const [qk] = modelFeatureSources(model, tok, { name });
  return {
    ...qk,
    dispose: () => {
      qk.dispose?.();
      model.dispose();
    },
  };
}
