/**
 * Builds the engine `deno task serve` and the benchmark runner use. Until the real head-free model engine exists
 * (an adapter from core/model/ort_runner.ts implementing InferenceEngine), this returns the STAND-IN engine and
 * says so loudly. Swapping in the real engine is the one marked line below.
 */
import { StandInEngine, type StandInOptions } from "./stand_in.ts";
import type { InferenceEngine } from "./types.ts";

export interface LoadedEngine {
  engine: InferenceEngine;
  /** True when `engine` is the deterministic stand-in, not a model. */
  standIn: boolean;
  /** One line saying what was loaded (or why the stand-in is used); print it at startup. */
  description: string;
}

export interface CreateEngineOptions {
  /** Force the stand-in even when a real engine exists (tests, load tests of the HTTP layer). */
  standIn?: boolean;
  standInOptions?: Partial<StandInOptions>;
}

export function createEngine(modelDir: string | undefined, options: CreateEngineOptions = {}): Promise<LoadedEngine> {
  // TODO(lead): when the real engine exists, replace the next line with
  //   if (!options.standIn) return loadOrtEngine(modelDir ?? defaultTinyModelDir());
  const realEngineAvailable = false;
  const engine = new StandInEngine(options.standInOptions);
  const why = options.standIn
    ? "requested explicitly"
    : realEngineAvailable
    ? "requested"
    : "the real onnxruntime-web engine is not wired in yet (core/engine/load.ts)";
  return Promise.resolve({
    engine,
    standIn: true,
    description: `*** STAND-IN ENGINE, NOT A MODEL *** (${why}; ` +
      `${modelDir ? `--model ${modelDir} ignored` : "no --model given"}). ` +
      "Answers are a deterministic echo of the request, for testing the HTTP layer only.",
  });
}
