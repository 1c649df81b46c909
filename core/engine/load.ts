/**
 * Builds the engine `deno task serve`, `deno task bench` and `deno task bench:serve` use.
 *
 * `createEngine(modelDir)` loads a head-free export dir (config.json, tokenizer.json, vision.onnx, decoder.onnx; see
 * core/model/export_onnx.ts) into the real onnxruntime-web engine (core/engine/ort_engine.ts). A training output dir
 * whose `export/` subdir is such a dir is accepted too (`runs/gasp` means `runs/gasp/export`). Only an explicit
 * `{standIn: true}` gives the deterministic STAND-IN engine.
 *
 * With no modelDir the default is, in order: runs/gasp/export, runs/base/export (written by `deno task train`), else
 * the tiny config with seeded RANDOM weights exported once into runs/tiny-random/export (an untrained model: its
 * answers are noise; the description says so loudly).
 */
import { existsSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { TINY_CONFIG } from "../model/config.ts";
import { exportHeadFreeModel } from "../model/export_onnx.ts";
import { initParameters } from "../model/init.ts";
import type { ExecutionProviderChoice } from "../model/ort_runner.ts";
import { buildTinyTokenizerJson } from "../text/build_tokenizer.ts";
import { OrtEngine } from "./ort_engine.ts";
import { RuntimeEngine } from "./runtime_engine.ts";
import { StandInEngine, type StandInOptions } from "./stand_in.ts";
import type { InferenceEngine } from "./types.ts";

/** The files an export dir must hold for the engine to load it. */
export const EXPORT_FILES = ["config.json", "tokenizer.json", "vision.onnx", "decoder.onnx"] as const;

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
  /** Load and progress messages (default console.error). */
  log?: (message: string) => void;
}

/**
 * The export dir inside `dir`: `dir/export` when that holds a complete export (a training run keeps its own
 * config.json beside export/), else `dir` itself. Throws a ConfigError naming the dir and every missing file otherwise.
 */
export function resolveExportDir(dir: string): string {
  const abs = resolve(dir);
  if (!existsSync(abs)) {
    throw new ConfigError("--model", `${abs} does not exist (expected an export dir with ${EXPORT_FILES.join(", ")})`);
  }
  const candidate = EXPORT_FILES.every((f) => existsSync(join(abs, "export", f))) ? join(abs, "export") : abs;
  const missing = EXPORT_FILES.filter((f) => !existsSync(join(candidate, f)));
  if (missing.length) {
    throw new ConfigError(
      "--model",
      `${candidate} is not a model export dir: missing ${missing.join(", ")} ` +
        `(an export dir holds ${EXPORT_FILES.join(", ")}; write one with \`deno task export\` or \`deno task train\`)`,
    );
  }
  return candidate;
}

/** A short label for a checkpoint: "runs/gasp/export" -> "gasp", "runs/base" -> "base". */
export function checkpointLabel(dir: string): string {
  const abs = resolve(dir);
  return basename(abs) === "export" ? basename(dirname(abs)) : basename(abs);
}

/** "gasp-tiny-" + the checkpoint label ("gasp-tiny-gasp", "gasp-tiny-base"); "tiny-random" gives "gasp-tiny-random". */
export function defaultModelName(dir: string): string {
  const label = checkpointLabel(dir);
  return label.startsWith("tiny-") ? `gasp-${label}` : `gasp-tiny-${label}`;
}

export interface DefaultModel {
  dir: string;
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
    if (EXPORT_FILES.every((f) => existsSync(join(dir, f)))) {
      return { dir, untrained: false, why: `trained ${name} model found` };
    }
  }
  const dir = resolve(runsDir, "tiny-random", "export");
  if (!EXPORT_FILES.every((f) => existsSync(join(dir, f)))) {
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
    untrained: true,
    why: `no trained model in ${resolve(runsDir)}/{gasp,base}/export (run \`deno task train\`)`,
  };
}

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
      description: `*** STAND-IN ENGINE, NOT A MODEL *** (requested explicitly; ` +
        `${modelDir ? `--model ${modelDir} ignored` : "no --model given"}). ` +
        "Answers are a deterministic echo of the request, for testing the HTTP layer only.",
    };
  }
  let dir: string;
  let untrained = false;
  let why = "";
  if (modelDir) {
    dir = resolveExportDir(modelDir);
  } else {
    const d = await defaultModelDir(options.runsDir, log);
    ({ dir, untrained, why } = d);
  }
  const t0 = performance.now();
  let epLine = "";
  const engine = options.engine === "ours"
    ? await RuntimeEngine.load(dir, {
      modelName: options.modelName ?? defaultModelName(dir),
      maxPixels: options.maxPixels,
    })
    : await OrtEngine.load(dir, {
      executionProvider: options.executionProvider,
      modelName: options.modelName ?? defaultModelName(dir),
      maxPixels: options.maxPixels,
      log: (m) => epLine = m, // carried in the description, which every caller prints
    });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  const what = untrained
    ? `*** UNTRAINED MODEL (seeded random weights): answers are noise *** ${engine.modelName} from ${dir} (${why})`
    : `model ${engine.modelName} from ${dir}${why ? ` (${why})` : ""}`;
  return {
    engine,
    standIn: false,
    untrained,
    modelDir: dir,
    description: `${what}; ${epLine.replace(/^ort_runner: /, "").replace(/ for \S+$/, "") || engine.id}; ` +
      `loaded in ${secs} s`,
  };
}
