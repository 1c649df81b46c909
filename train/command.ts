/**
 * The `deno task train` command (tasks/train.ts is its thin entry point): its flags, their mapping onto a partial
 * TrainConfig (train/config.ts resolves and validates it), then the default pipeline, one base stage, or one GASP /
 * baseline run. Every input (flags, config file, resumed checkpoint) is validated before any work starts.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { defineCommand, flag, type FlagValues, parseCommand, runCommand } from "../core/cli.ts";
import { ConfigError } from "../core/errors.ts";
import { deviceFlags, initDevice } from "../core/device_init.ts";
import { deepMerge, PRESET_NAMES, resolveBaseConfig, resolveTrainConfig, type TrainConfig } from "./config.ts";
import { train } from "./loop.ts";
import { loadCheckpoint } from "./checkpoint.ts";
import { defaultPipeline, ensureBase, ensureData } from "./pipeline.ts";

export const TRAIN_COMMAND = defineCommand({
  name: "train",
  summary: "Train the tiny base VLM (if missing), then GASP; print held-out PCK before/after; export the model.",
  description: "With no stage/preset/config/resume flag: make runs/data if missing, train the tiny base into " +
    "runs/base if missing, then GASP (preset full) into runs/gasp, printing held-out peak-layer PCK@2 before and " +
    "after. --stage base trains only the base (into --out, default runs/base); otherwise one GASP / baseline run " +
    "into --out (default runs/<preset>, runs/gasp for full). --resume continues a run in its own folder unless " +
    "--out says otherwise. Config resolution: defaults ← preset ← --config FILE ← flags (train/config.ts).",
  flags: {
    preset: flag.choice(PRESET_NAMES, "the paper's comparison to run (train/presets/)"),
    config: flag.string("a JSON file with a partial TrainConfig", { placeholder: "FILE" }),
    out: flag.string("run folder (metrics.jsonl, checkpoints, export/)", { placeholder: "DIR" }),
    maxSteps: flag.int("optimizer steps (config `steps`)", { min: 1 }),
    resume: flag.string("continue a run folder (its latest checkpoint) or a step checkpoint", { placeholder: "DIR" }),
    stage: flag.choice(["gasp", "base"] as const, "what to train"),
    loraRank: flag.int("LoRA rank r", { min: 1 }),
    layers: flag.string("LLM layers with a correspondence head: all or A-B", { placeholder: "all|A-B" }),
    head: flag.choice(["app-b", "sec-4"] as const, "correspondence head shape"),
    seed: flag.int("seed of every random stream"),
    set: flag.list("any config value, e.g. optim.lr=3e-4 (value parsed as JSON, else a string)", {
      placeholder: "PATH=VALUE",
    }),
    data: flag.string("shard folder (default runs/data, generated there if missing)", { placeholder: "DIR" }),
    model: flag.string("base model folder for GASP runs", { default: "runs/base", placeholder: "DIR" }),
    pckSequences: flag.int("held-out sequences scored for the before/after PCK", { default: 24, min: 1 }),
    ...deviceFlags,
  },
  check: (v) => {
    for (const s of v.set) {
      if (s.indexOf("=") <= 0) throw new Error(`--set: expected PATH=VALUE, got "${s}"`);
    }
  },
});

export type TrainFlags = FlagValues<typeof TRAIN_COMMAND.flags>;

/** The partial TrainConfig the flags ask for (validated later by resolveTrainConfig). */
export function trainOverrides(v: TrainFlags): Record<string, unknown> {
  let overrides: Record<string, unknown> = {};
  const put = (path: string[], value: unknown) => {
    const obj: Record<string, unknown> = {};
    let cur = obj;
    path.forEach((k, i) => {
      if (i === path.length - 1) cur[k] = value;
      else cur = (cur[k] = {}) as Record<string, unknown>;
    });
    overrides = deepMerge(overrides, obj) as Record<string, unknown>;
  };
  if (v.stage !== undefined) put(["stage"], v.stage);
  if (v.maxSteps !== undefined) put(["steps"], v.maxSteps);
  if (v.loraRank !== undefined) put(["lora", "rank"], v.loraRank);
  if (v.layers !== undefined) put(["head", "layers"], v.layers);
  if (v.head !== undefined) put(["head", "shape"], v.head);
  if (v.seed !== undefined) put(["seed"], v.seed);
  for (const s of v.set) {
    const eq = s.indexOf("=");
    const raw = s.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw; // bare strings: --set head.shape=sec-4
    }
    put(s.slice(0, eq).split("."), value);
  }
  return overrides;
}

/** Parses `deno task train` flags (throws UsageError on a bad one; --help is handled by runTrainCommand). */
export function parseTrainArgs(argv: readonly string[]): TrainFlags {
  const r = parseCommand(TRAIN_COMMAND, argv);
  if (r.help) throw new ConfigError("command line", "--help is not a training flag");
  return r.values;
}

/** What one invocation will do, decided (and validated) before any work. */
interface TrainPlan {
  kind: "base" | "default" | "run" | "resume";
  config: TrainConfig;
  out: string;
}

async function plan(a: TrainFlags): Promise<TrainPlan> {
  for (const [flagName, path] of [["--config", a.config], ["--resume", a.resume], ["--data", a.data]] as const) {
    if (path !== undefined && !existsSync(resolve(path))) {
      throw new ConfigError(flagName, `${resolve(path)} does not exist`);
    }
  }
  let configFile: unknown;
  if (a.config) {
    try {
      configFile = JSON.parse(await Deno.readTextFile(a.config));
    } catch (e) {
      throw new ConfigError("--config", `${resolve(a.config)} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const overrides = trainOverrides(a);
  const hasConfigFlags = a.preset !== undefined || a.config !== undefined || Object.keys(overrides).length > 0;
  if (overrides.stage === "base") {
    const { stage: _s, ...over } = overrides;
    const config = a.resume && Object.keys(over).length === 0 && !configFile
      ? (await loadCheckpoint(a.resume)).config
      : resolveBaseConfig(deepFile(configFile, over));
    return { kind: "base", config, out: a.out ?? a.resume ?? a.model };
  }
  // A resumed run keeps its checkpoint's config unless flags say otherwise (then they must match it exactly).
  const fromCheckpoint = a.resume !== undefined && !hasConfigFlags;
  const config = fromCheckpoint
    ? (await loadCheckpoint(a.resume!)).config
    : resolveTrainConfig({ preset: a.preset, configFile, overrides });
  const out = a.out ?? a.resume ?? (config.preset === "full" ? "runs/gasp" : `runs/${config.preset}`);
  const kind = a.resume ? "resume" : hasConfigFlags ? "run" : "default";
  return { kind, config, out };
}

export async function runTrainCommand(argv: string[]): Promise<void> {
  await runCommand(TRAIN_COMMAND, argv, async (a) => {
    const log = (l: string) => console.log(l);
    const p = await plan(a);
    await initDevice({ device: a.device, threads: a.threads });
    const data = a.data ?? "runs/data";
    const t0 = performance.now();
    if (p.kind === "base") {
      await ensureData(data, log, a.data !== undefined);
      const r = await train(p.config, { out: p.out, resume: a.resume, dataDir: data, log });
      log(`base model written to ${p.out} (${r.step} steps, ${elapsed(t0)})`);
      return;
    }
    if (p.kind === "resume") {
      await ensureData(data, log, a.data !== undefined);
      await ensureBase(a.model, data, log);
      await train(p.config, { out: p.out, resume: a.resume, dataDir: data, baseDir: a.model, log });
    } else {
      // The embedded default (and any fresh GASP run) prints PCK before/after; a resumed run just continues.
      await defaultPipeline(p.config, {
        dataDir: data,
        dataGiven: a.data !== undefined,
        baseDir: a.model,
        out: p.out,
        pckSequences: a.pckSequences,
        log,
      });
    }
    log(`run written to ${p.out} (${elapsed(t0)})`);
  });
}

function deepFile(file: unknown, over: Record<string, unknown>): Record<string, unknown> {
  return { ...(typeof file === "object" && file ? file as Record<string, unknown> : {}), ...over };
}

function elapsed(t0: number): string {
  const s = (performance.now() - t0) / 1000;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}
