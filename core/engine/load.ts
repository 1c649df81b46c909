/**
 * Builds the engine `deno task serve`, `deno task bench` and `deno task bench:serve` use.
 *
 * `createEngine(modelPath)` resolves any model path (core/model/folder/resolve.ts: an export, a training run, a
 * base folder, a step checkpoint), takes its head-free export (core/model/folder/export_of.ts; written to a temp
 * folder when the model has none) and loads it into the real onnxruntime-web engine (core/engine/ort_engine.ts), or
 * our runtime with `{engine: "ours"}`. Only an explicit `{standIn: true}` gives the deterministic STAND-IN engine.
 *
 * With no modelDir the default is, in order: runs/gasp/export, runs/base/export (written by `deno task train`), else
 * the tiny config with seeded RANDOM weights exported once into runs/tiny-random/export (an untrained model: its
 * answers are noise; the description says so loudly).
 */
import { resolve } from "node:path";
import { TINY_CONFIG } from "../model/config.ts";
import { exportOf } from "../model/folder/export_of.ts";
import { isExportDir, resolveModelDir } from "../model/folder/resolve.ts";
import { exportHeadFreeModel } from "../model/export_onnx.ts";
import { initParameters } from "../model/init.ts";
import type { ExecutionProviderChoice } from "../model/ort_runner.ts";
import { buildTinyTokenizerJson } from "../text/build_tokenizer.ts";
import { OrtEngine } from "./ort_engine.ts";
import { RuntimeEngine } from "./runtime_engine.ts";
import { StandInEngine, type StandInOptions } from "./stand_in.ts";
import type { InferenceEngine } from "./types.ts";

/** Seed of the untrained fallback model's weights (runs/tiny-random/export). */
export const TINY_RANDOM_SEED = 0;

export interface LoadedEngine {
  engine: InferenceEngine;
  /** True when `engine` is the deterministic stand-in, not a model. */
  standIn: boolean;
  /** True when the model has random (untrained) weights: the no-model fallback. */
  untrained: boolean;
  /** The export dir loaded (absent for the stand-in). */
  modelDir?: string;
  /** Removes the temporary export written for a model that had none (a no-op otherwise); call at shutdown. */
  dispose(): Promise<void>;
  /** One line saying what was loaded (or why the stand-in is used); print it at startup. */
  description: string;
}

export interface CreateEngineOptions {
  /** Use the STAND-IN engine (tests, load tests of the HTTP layer); never chosen implicitly. */
  standIn?: boolean;
  standInOptions?: Partial<StandInOptions>;
  /** Execution provider for the real engine (default "auto": WebGPU on a hardware adapter, else WASM). */
  executionProvider?: ExecutionProviderChoice;
  /** "ort" (default): onnxruntime-web; "ours": our runtime on the device initDevice chose (runtime_engine.ts). */
  engine?: "ort" | "ours";
  /** Model name served under /v1/models (default defaultModelName(dir): "gasp-tiny-gasp", "gasp-tiny-random", …). */
  modelName?: string;
  /** Where the default model is looked for and the random fallback is written (default "runs"). */
  runsDir?: string;
  /** Pixel ceiling per image for the vision preprocessing (default ENGINE_MAX_PIXELS). */
  maxPixels?: number;
  /** Context to serve (default: the model's; see OrtEngine). */
  contextTokens?: number;
  /** See OrtEngineOptions.recreateOnAllocationFailure (default true). */
  recreateOnAllocationFailure?: boolean;
  /** Load and progress messages (default console.error). */
  log?: (message: string) => void;
}

/** "gasp-tiny-" + the model's label ("gasp-tiny-gasp", "gasp-tiny-base"); "tiny-random" gives "gasp-tiny-random". */
export function defaultModelName(label: string): string {
  return label.startsWith("tiny-") ? `gasp-${label}` : `gasp-tiny-${label}`;
}

export interface DefaultModel {
  dir: string;
  /** "gasp", "base" or "tiny-random". */
  label: string;
  untrained: boolean;
  why: string;
}

/**
 * The no-flag model: runs/gasp/export, else runs/base/export, else the seeded random tiny model exported into
 * runs/tiny-random/export (written on first use, reused afterwards).
 */
export async function defaultModelDir(
  runsDir = "runs",
  log: (m: string) => void = console.error,
): Promise<DefaultModel> {
  for (const name of ["gasp", "base"]) {
    const dir = resolve(runsDir, name, "export");
    if (isExportDir(dir)) {
      return { dir, label: name, untrained: false, why: `trained ${name} model found` };
    }
  }
  const dir = resolve(runsDir, "tiny-random", "export");
  if (!isExportDir(dir)) {
    log(
      `engine: no trained model in ${resolve(runsDir)}/{gasp,base}/export; exporting the UNTRAINED tiny model ` +
        `(seeded random weights, seed ${TINY_RANDOM_SEED}) to ${dir}`,
    );
    await exportHeadFreeModel(
      TINY_CONFIG,
      initParameters(TINY_CONFIG, TINY_RANDOM_SEED),
      buildTinyTokenizerJson(),
      dir,
    );
  }
  return {
    dir,
    label: "tiny-random",
    untrained: true,
    why: `no trained model in ${resolve(runsDir)}/{gasp,base}/export (run \`deno task train\`)`,
  };
}

/**
 * The engine for `modelDir` (any model path resolveModelDir accepts), in this thread: the real model over
 * onnxruntime-web by default, our runtime with `{engine: "ours"}`, the stand-in only with `{standIn: true}`; no
 * modelDir gives the default model (see defaultModelDir). startEngineWorker (worker_engine.ts) runs it in a Worker.
 */
export async function createEngine(
  modelDir: string | undefined,
  options: CreateEngineOptions = {},
): Promise<LoadedEngine> {
  const log = options.log ?? ((m: string) => console.error(m));
  if (options.standIn) {
    return {
      engine: new StandInEngine(options.standInOptions),
      standIn: true,
      untrained: false,
      dispose: () => Promise.resolve(),
      description: `*** STAND-IN ENGINE, NOT A MODEL *** (requested explicitly; ` +
        `${modelDir ? `--model ${modelDir} ignored` : "no --model given"}). ` +
        "Answers are a deterministic echo of the request, for testing the HTTP layer only.",
    };
  }
  let dir: string;
  let label: string;
  let untrained = false;
  let why = "";
  let dispose = () => Promise.resolve();
  if (modelDir) {
    const resolved = resolveModelDir(modelDir);
    const exp = await exportOf(resolved, log);
    ({ dir, dispose } = exp);
    label = resolved.label;
    why = resolved.description;
  } else {
    const d = await defaultModelDir(options.runsDir, log);
    ({ dir, untrained, why } = d);
    label = d.label;
  }
  const t0 = performance.now();
  let epLine = "";
  const load = () =>
    options.engine === "ours"
      ? RuntimeEngine.load(dir, {
        modelName: options.modelName ?? defaultModelName(label),
        maxPixels: options.maxPixels,
        contextTokens: options.contextTokens,
      })
      : OrtEngine.load(dir, {
        executionProvider: options.executionProvider,
        modelName: options.modelName ?? defaultModelName(label),
        maxPixels: options.maxPixels,
        contextTokens: options.contextTokens,
        recreateOnAllocationFailure: options.recreateOnAllocationFailure,
        log: (m) => epLine = m, // carried in the description, which every caller prints
      });
  let engine: InferenceEngine;
  try {
    engine = await load();
  } catch (e) {
    await dispose();
    throw e;
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  const what = untrained
    ? `*** UNTRAINED MODEL (seeded random weights): answers are noise *** ${engine.modelName} from ${dir} (${why})`
    : `model ${engine.modelName} from ${dir}${why ? ` (${why})` : ""}`;
  return {
    engine,
    standIn: false,
    untrained,
    modelDir: dir,
    dispose,
    description: `${what}; ${epLine.replace(/^ort_runner: /, "").replace(/ for \S+$/, "") || engine.id}; ` +
      `loaded in ${secs} s`,
  };
}
