/**
 * What a `--model PATH` names, decided once for every task: a head-free ONNX export, a model folder (a base), a
 * training run folder, or one step checkpoint of a run. Rules, first match wins:
 *   1. a step checkpoint (manifest.json of format gasp-ts-checkpoint): its weights are the base it names with the
 *      LoRA folded in (a `--stage base` checkpoint holds every parameter itself);
 *   2. an export folder (config.json, tokenizer.json, vision.onnx, decoder.onnx);
 *   3. a model folder (config.json, model.safetensors, tokenizer.json; runs/base is one, with its export/ beside);
 *   4. a training run (export/ or latest): its export/ when training finished (an ONNX export, or the merged HF
 *      folder a run on a downloaded 16-bit checkpoint writes), else its latest checkpoint.
 * Anything else is a ConfigError saying what was expected. `loadModel` (core/model/folder/load.ts) reads the result.
 */
import { existsSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ConfigError } from "../../errors.ts";
import { isCheckpointDir } from "./checkpoint_files.ts";
import { isModelFolder, MODEL_FOLDER_FILES } from "./model_folder.ts";

/** The files of a head-free export folder (core/model/export_onnx.ts). */
export const EXPORT_FOLDER_FILES = ["config.json", "tokenizer.json", "vision.onnx", "decoder.onnx"] as const;

export type ModelDirKind = "export" | "model-folder" | "run" | "checkpoint";

/** Where a resolved model's weights come from. */
export type ModelSource =
  | { format: "export"; dir: string }
  | { format: "model-folder"; dir: string }
  | { format: "checkpoint"; dir: string };

export interface ResolvedModelDir {
  /** What the given path is. */
  kind: ModelDirKind;
  /** The given path, absolute. */
  path: string;
  /** Where the weights are read from (an export dir, a model folder or a step checkpoint). */
  source: ModelSource;
  /** The head-free ONNX export of this model, when one exists (onnxruntime-web engines need it). */
  exportDir: string | null;
  /** Short name for reports: "gasp", "base", "gasp@step-000040". */
  label: string;
  /** One line saying what was resolved, for the task to print. */
  description: string;
}

export function isExportDir(dir: string): boolean {
  return EXPORT_FOLDER_FILES.every((f) => existsSync(join(dir, f)));
}

/** Resolves a model path by the rules above; `flag` names the option in errors (default "--model"). */
export function resolveModelDir(path: string, flag = "--model"): ResolvedModelDir {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new ConfigError(flag, `${abs} does not exist`);
  const exportOf = (dir: string) => (isExportDir(join(dir, "export")) ? join(dir, "export") : null);
  const found = (kind: ModelDirKind, source: ModelSource, exportDir: string | null, label: string, what: string) => ({
    kind,
    path: abs,
    source,
    exportDir,
    label,
    description: what,
  });
  if (isCheckpointDir(abs)) {
    return found(
      "checkpoint",
      { format: "checkpoint", dir: abs },
      null,
      `${basename(dirname(abs))}@${basename(abs)}`,
      `step checkpoint ${abs} (LoRA folded into the base it names)`,
    );
  }
  if (isExportDir(abs)) {
    const label = basename(abs) === "export" ? basename(dirname(abs)) : basename(abs);
    return found("export", { format: "export", dir: abs }, abs, label, `export folder ${abs}`);
  }
  const exportDir = exportOf(abs);
  if (isModelFolder(abs)) {
    const what = `model folder ${abs}${exportDir ? ` (export: ${exportDir})` : ""}`;
    return found("model-folder", { format: "model-folder", dir: abs }, exportDir, basename(abs), what);
  }
  if (exportDir) {
    const what = `training run ${abs}: its export ${exportDir}`;
    return found("run", { format: "export", dir: exportDir }, exportDir, basename(abs), what);
  }
  // A GASP run on a 16-bit HF base exports the merged model as an HF folder (no ONNX; exportOf makes one on demand).
  const hfExport = join(abs, "export");
  if (isModelFolder(hfExport)) {
    const what = `training run ${abs}: its merged HF folder ${hfExport}`;
    return found("run", { format: "model-folder", dir: hfExport }, null, basename(abs), what);
  }
  const latest = latestName(abs);
  if (latest) {
    const dir = join(abs, latest);
    const what = `training run ${abs} without an export (unfinished): its latest checkpoint ${dir}`;
    return found("run", { format: "checkpoint", dir }, null, `${basename(abs)}@${latest}`, what);
  }
  throw new ConfigError(
    flag,
    `${abs} is not a model: expected an export folder (${EXPORT_FOLDER_FILES.join(", ")}), a model folder ` +
      `(${Object.values(MODEL_FOLDER_FILES).join(", ")}), a training run (export/ or latest) or a step checkpoint ` +
      "(manifest.json); train one with `deno task train`",
  );
}

/** The checkpoint name in RUN/latest when it names an existing step directory. */
function latestName(run: string): string | null {
  try {
    const name = Deno.readTextFileSync(join(run, "latest")).trim();
    return /^step-\d+$/.test(name) && isCheckpointDir(join(run, name)) ? name : null;
  } catch {
    return null;
  }
}
