/**
 * Name maps for loading Qwen2.5-VL weights exported under other naming layouts into our (original HF checkpoint)
 * names. transformers >= 4.52 nests the modules: "model.visual.*" -> "visual.*" and
 * "model.language_model.*" -> "model.*" ("lm_head.weight" unchanged). Pass as `nameMap` to core/onnx/read.ts.
 */
export function qwenNestedLayoutNameMap(name: string): string | undefined {
  if (name.startsWith("model.visual.")) return name.slice("model.".length);
  if (name.startsWith("model.language_model.")) return "model." + name.slice("model.language_model.".length);
  return undefined;
}
