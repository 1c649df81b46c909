/**
 * A model on disk as an App. C feature source: any path resolveModelDir accepts (a training run, its export/, a
 * model folder, a step checkpoint) is loaded onto the device and analysed by its Q/K per layer
 * (core/analysis/model_features.ts). Head embeddings are a training-time quantity (exports have no heads); `deno task
 * train` reports their PCK itself.
 */
import { initDevice } from "../device_init.ts";
import { loadModel } from "../model/folder/load.ts";
import { type ResolvedModelDir, resolveModelDir } from "../model/folder/resolve.ts";
import { VlmModel } from "../model/vlm.ts";
import { TextTokenizer } from "../text/tokenizer.ts";
import type { LayerFeatureSource } from "./features.ts";
import { modelFeatureSources } from "./model_features.ts";

/** The Q/K feature source of the model at `path`, named by its label ("gasp", "gasp@step-000040"). */
export async function loadModelFeatureSource(
  path: string | ResolvedModelDir,
): Promise<LayerFeatureSource & { resolved: ResolvedModelDir }> {
  const resolved = typeof path === "string" ? resolveModelDir(path) : path;
  await initDevice();
  const m = await loadModel(resolved);
  const model = new VlmModel(m.config, m.weights);
  const [qk] = modelFeatureSources(model, TextTokenizer.fromJson(m.tokenizerJson), { name: resolved.label });
  return {
    ...qk,
    resolved,
    dispose: () => {
      qk.dispose?.();
      model.dispose();
    },
  };
}
