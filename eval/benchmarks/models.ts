/**
 * The models a benchmark run compares: each `--model` path (a training run, an export, a model folder or a step
 * checkpoint: core/model/folder/resolve.ts) resolved to its export (written to a temporary folder when it has none),
 * loaded into the real engine, named by its label, and given the answer-cache key = sha256(model files, engine id) (answer_cache.ts), so answers
 * are reused only for the same bytes on the same kind of engine, never for the same folder name alone.
 *
 * The default comparison (issue 13): base, sft-general (the same general data and steps, no geometric loss), GASP
 * full, and corr-only when present, all trained from the same base by `deno task train --preset P` into runs/P.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { createEngine } from "../../core/engine/load.ts";
import { exportOf } from "../../core/model/folder/export_of.ts";
import { resolveModelDir } from "../../core/model/folder/resolve.ts";
import type { ExecutionProviderChoice } from "../../core/model/ort_runner.ts";
import { ConfigError } from "../../core/errors.ts";
import { hashParts, modelContentHash } from "./answer_cache.ts";
import type { NamedEngine } from "./bench_run.ts";

/** The no-flag comparison: [folder, how to make it]; the last is optional. */
export const DEFAULT_COMPARISON: readonly { dir: string; make: string; optional?: boolean }[] = [
  { dir: "runs/base", make: "deno task train --stage base" },
  { dir: "runs/sft-general", make: "deno task train --preset sft-general" },
  { dir: "runs/gasp", make: "deno task train --preset full" },
  { dir: "runs/corr-only", make: "deno task train --preset corr-only", optional: true },
];

/** The default model folders that exist (relative to `cwd`); a ConfigError naming what to train when any is missing. */
export function defaultComparisonDirs(cwd = "."): string[] {
  const missing = DEFAULT_COMPARISON.filter((m) => !m.optional && !existsSync(resolve(cwd, m.dir)));
  if (missing.length) {
    throw new ConfigError(
      "--model",
      `no trained model at ${missing.map((m) => `${m.dir}/export`).join(", ")}. ` +
        "The default bench compares base, sft-general and GASP (and corr-only when present), all trained from one " +
        `base. Make the missing ones with ${missing.map((m) => `\`${m.make}\``).join(", ")} ` +
        "(`deno task train` with no flags makes base and GASP), or pass --model DIR … (an export dir or a training " +
        "run folder), or --stand-in to check the pipeline.",
    );
  }
  return DEFAULT_COMPARISON.filter((m) => existsSync(resolve(cwd, m.dir))).map((m) => m.dir);
}

export interface LoadedBenchModel extends NamedEngine {
  /** One line for the log: what was resolved and loaded. */
  description: string;
  release(): Promise<void>;
}

/** Loads one `--model` path (any form resolveModelDir accepts) into the real engine, with its content hash. */
export async function loadBenchModel(
  dir: string,
  o: { executionProvider?: ExecutionProviderChoice; log?: (line: string) => void } = {},
): Promise<LoadedBenchModel> {
  const resolved = resolveModelDir(dir); // names the path and what was expected when it holds no model
  o.log?.(`bench: ${dir}: ${resolved.description}`);
  const exported = await exportOf(resolved, o.log);
  try {
    const exportDir = exported.dir;
    const t0 = performance.now();
    const sha256 = await modelContentHash(exportDir);
    o.log?.(
      `bench: ${dir}: sha256 ${sha256.slice(0, 16)}… of ${exportDir} (${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s)`,
    );
    const le = await createEngine(exportDir, { executionProvider: o.executionProvider, log: o.log });
    if (le.standIn) throw new ConfigError("--model", `core/engine/load.ts gave the STAND-IN engine for ${dir}`);
    const engine = le.engine;
    return {
      name: resolved.label,
      engine,
      cacheKey: hashParts(sha256, engine.id),
      model: { path: exportDir, given: dir === exportDir ? undefined : dir, sha256, engine: engine.id },
      description: `${resolved.description}; ${le.description}`,
      release: async () => {
        const r = (engine as { release?: () => Promise<void> }).release;
        if (r) await r.call(engine);
        await exported.dispose();
      },
    };
  } catch (e) {
    await exported.dispose();
    throw e;
  }
}
