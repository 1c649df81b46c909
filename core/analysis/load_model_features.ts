/**
 * A model on disk as App. C feature sources: any path resolveModelDir accepts (a training run, its export/, a model
 * folder, a step checkpoint) is loaded onto the device and analysed by its Q/K per layer, raw and mean-centred
 * (core/analysis/model_features.ts), optionally with the attention statistics and its vision tower as the `vision`
 * baseline. Head embeddings are a training-time quantity (exports have no heads); `deno task train` reports their PCK
 * itself.
 */
import { initDevice } from "../device_init.ts";
import { loadModel } from "../model/folder/load.ts";
import { type ResolvedModelDir, resolveModelDir } from "../model/folder/resolve.ts";
import { VlmModel } from "../model/vlm.ts";
import { TextTokenizer } from "../text/tokenizer.ts";
import type { LayerFeatureSource } from "./features.ts";
import { modelFeatureSources, visionFeatureSource } from "./model_features.ts";

export interface LoadedModelSources {
  resolved: ResolvedModelDir;
  /** "<label> Q/K" and "<label> Q/K centred", and "<label> hidden states" when asked for. */
  qk: LayerFeatureSource[];
  /** The `vision` baseline from this model's vision tower, when asked for. */
  vision: LayerFeatureSource | null;
  /** Frees the model (call once, after the analysis). */
  dispose(): void;
}

/** The feature sources of the model at `path`, named by its label ("gasp", "gasp@step-000040"). */
export async function loadModelFeatureSources(
  path: string | ResolvedModelDir,
  o: { attention?: boolean; vision?: boolean; hidden?: boolean } = {},
): Promise<LoadedModelSources> {
  const resolved = typeof path === "string" ? resolveModelDir(path) : path;
  await initDevice();
  const m = await loadModel(resolved);
  const model = new VlmModel(m.config, m.weights);
  const tok = TextTokenizer.fromJson(m.tokenizerJson);
  return {
    resolved,
    qk: modelFeatureSources(model, tok, { name: resolved.label, attention: o.attention, hidden: o.hidden }),
    vision: o.vision ? visionFeatureSource(model, tok) : null,
    dispose: () => model.dispose(),
  };
}
