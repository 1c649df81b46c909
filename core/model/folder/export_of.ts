/**
 * The head-free ONNX export of any resolved model path (core/model/folder/resolve.ts), for the tasks that run
 * models through onnxruntime-web or need the exported files (bench:model, bench; serve later): the model's own
 * export when it has one, else one written from loadModel into a temporary folder, deleted by dispose().
 * The temporary export sits at TMP/<label>/export so that labels derived from the path ("gasp", "gasp@step-000040")
 * are the model's own.
 */
import { join } from "node:path";
import { exportHeadFreeModel } from "../export_onnx.ts";
import { loadModel } from "./load.ts";
import type { ResolvedModelDir } from "./resolve.ts";

export interface ModelExport {
  /** The export folder (config.json, tokenizer.json, vision.onnx, decoder.onnx). */
  dir: string;
  /** True when `dir` was written here (it is deleted by dispose). */
  temporary: boolean;
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** `r`'s export: its own, or one written into a temporary folder (a model folder without export/, a checkpoint). */
export async function exportOf(r: ResolvedModelDir, log: (line: string) => void = () => {}): Promise<ModelExport> {
  if (r.exportDir) {
    const none = () => Promise.resolve();
    return { dir: r.exportDir, temporary: false, dispose: none, [Symbol.asyncDispose]: none };
  }
  const tmp = await Deno.makeTempDir({ prefix: "gasp-export-" });
  const dispose = () => Deno.remove(tmp, { recursive: true }).catch(() => {});
  try {
    const dir = join(tmp, r.label.replace(/[^\w@.-]/g, "_"), "export");
    const t0 = performance.now();
    const m = await loadModel(r);
    await exportHeadFreeModel(m.config, m.weights, m.tokenizerJson, dir);
    log(`${r.label} has no export: exported it to ${dir} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    return { dir, temporary: true, dispose, [Symbol.asyncDispose]: dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}
