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
import { checkData, defaultPipeline, ensureBase, ensureData } from "./pipeline.ts";
import { checkRunFolder, runFolderOf } from "./run_folder.ts";
import { resolveModelDir } from "../core/model/folder/resolve.ts";
import { defaultPckSequences, planRun, planSettings } from "./plan.ts";
import { parseVlmConfig, TINY_CONFIG, type VlmConfig } from "../core/model/config.ts";
import { formatTrainPlan } from "../core/model/train_plan.ts";

export const TRAIN_COMMAND = defineCommand({
  name: "train",
  summary: "Train the tiny base VLM (if missing), then the sft-general control and GASP; print held-out PCK " +
    "before/after; export the models.",
  description: "With no stage/preset/config/resume flag: make runs/data if missing, train the tiny base into " +
    "runs/base if missing, then GASP (preset full) into runs/gasp, printing held-out peak-layer PCK@2 before and " +
    "after. --stage base trains only the base (into --out, default runs/base); otherwise one GASP / baseline run " +
    "into --out (default runs/<preset>, runs/gasp for full). --resume continues a run (a run folder or one of its " +
    "step checkpoints) in its own folder unless --out says otherwise, on the base its checkpoint names unless " +
    "--model says otherwise. --model takes a model folder, an export, a training run or a step checkpoint. Only " +
    "the default runs/data and runs/base are ever generated; the no-flag run also trains the sft-general control " +
    "(same general data, steps and seed, no geometric loss) into runs/sft-general before GASP. A named --data or --model must exist. Every input is " +
    "checked before anything is written; a run folder is locked while a run writes there (a second run refuses). " +
    "Config resolution: defaults ← preset ← --config FILE ← flags (train/config.ts).",
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
    dtype: flag.choice(
      ["auto", "f32", "f16"] as const,
      "storage of the frozen base's matrices (config `dtype`): f16 halves their memory, compute stays f32; auto = " +
        "f16 for a checkpoint stored in bf16/f16, f32 for an f32 one",
    ),
    set: flag.list("any config value, e.g. optim.lr=3e-4 (value parsed as JSON, else a string)", {
      placeholder: "PATH=VALUE",
    }),
    data: flag.string("shard folder (default runs/data, generated there if missing)", { placeholder: "DIR" }),
    model: flag.string(
      "base model for GASP runs: a model folder, export, training run or step checkpoint (default: runs/base, " +
        "trained there if missing; on --resume the base its checkpoint names)",
      { placeholder: "DIR" },
    ),
    pckSequences: flag.int(
      "held-out sequences scored for the before/after PCK (default 24; fewer for models whose forward is costly: " +
        "a pass is kept to ~1.2 TFLOP, at least 2, e.g. 3 for a 3B-width model; train/plan.ts)",
      { min: 1 },
    ),
    plan: flag.boolean(
      "print parameter and trainable counts, memory (weights, optimizer, activations with/without checkpointing) " +
        "and the largest buffer against each device's limit for --model and the settings, without allocating",
    ),
    ...deviceFlags,
  },
  check: (v) => {
    for (const s of v.set) {
      if (s.indexOf("=") <= 0) throw new Error(`--set: expected PATH=VALUE, got "${s}"`);
    }
  },
});

/** Where the no-flag run trains the sft-general control (the folder `deno task bench` looks for). */
export const CONTROL_OUT = "runs/sft-general";

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
  if (v.dtype !== undefined) put(["dtype"], v.dtype);
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
  /** The frozen base (stage gasp) and whether the user named it (else runs/base, trained there if missing). */
  base: string;
  baseGiven: boolean;
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
  // The resumed checkpoint is read (and verified, file by file) before anything else happens.
  const resumed = a.resume !== undefined ? await loadCheckpoint(a.resume) : undefined;
  const resumeOut = a.resume !== undefined ? runFolderOf(a.resume) : undefined;
  const overrides = trainOverrides(a);
  const hasConfigFlags = a.preset !== undefined || a.config !== undefined || Object.keys(overrides).length > 0;
  let p: TrainPlan;
  if (overrides.stage === "base" || (resumed?.config.stage === "base" && !hasConfigFlags)) {
    const { stage: _s, ...over } = overrides;
    const config = resumed && Object.keys(over).length === 0 && !configFile
      ? resumed.config
      : resolveBaseConfig(deepFile(configFile, over));
    p = { kind: "base", config, out: a.out ?? resumeOut ?? a.model ?? "runs/base", base: "", baseGiven: false };
  } else {
    // A resumed run keeps its checkpoint's config unless flags say otherwise (then they must match it exactly).
    const config = resumed && !hasConfigFlags
      ? resumed.config
      : resolveTrainConfig({ preset: a.preset, configFile, overrides });
    const out = a.out ?? resumeOut ?? (config.preset === "full" ? "runs/gasp" : `runs/${config.preset}`);
    const kind = resumed ? "resume" : hasConfigFlags ? "run" : "default";
    const base = a.model ?? (resumed && resumed.config.stage === "gasp" ? resumed.base.model : "runs/base");
    p = { kind, config, out, base, baseGiven: a.model !== undefined || resumed !== undefined };
  }
  if (resumed && resumed.config.stage !== p.config.stage) {
    throw new ConfigError("--resume", `${resolve(a.resume!)} is a --stage ${resumed.config.stage} checkpoint`);
  }
  // --plan reads only config.json and allocates nothing: no data, base or run folder is needed for it.
  if (a.plan) return p;
  // Inputs before work: the data (manifest, shard sizes and headers), the base, the run folder (free, not another run).
  await checkData(a.data ?? "runs/data", a.data !== undefined);
  if (p.config.stage === "gasp" && (p.baseGiven || existsSync(p.base))) {
    resolveModelDir(p.base, a.model !== undefined ? "--model" : `--resume (the base ${resolve(a.resume ?? "")} names)`);
  }
  await checkRunFolder(p.out, a.resume);
  if (p.kind === "default") await checkRunFolder(CONTROL_OUT);
  return p;
}

export async function runTrainCommand(argv: string[]): Promise<void> {
  await runCommand(TRAIN_COMMAND, argv, async (a) => {
    const log = (l: string) => console.log(l);
    const p = await plan(a);
    if (a.plan) {
      const model = await planModelConfig(a.model);
      for (const line of formatTrainPlan(planRun(p.config, model.config), planSettings(p.config, model.config))) {
        log(line);
      }
      log(`(planned for ${model.source}; nothing was allocated)`);
      return;
    }
    await initDevice({ device: a.device, threads: a.threads });
    const data = a.data ?? "runs/data";
    const t0 = performance.now();
    if (p.kind === "base") {
      await ensureData(data, log, a.data !== undefined);
      const r = await train(p.config, { out: p.out, resume: a.resume, dataDir: data, log });
      log(`base model written to ${p.out} (${r.step} steps, ${elapsed(t0)})`);
      return;
    }
    await ensureData(data, log, a.data !== undefined);
    await ensureBase(p.base, data, log, p.baseGiven);
    if (p.kind === "resume") {
      await train(p.config, { out: p.out, resume: a.resume, dataDir: data, baseDir: p.base, log });
    } else {
      // The embedded default (and any fresh GASP run) prints PCK before/after; a resumed run just continues.
      await defaultPipeline(p.config, {
        dataDir: data,
        dataGiven: a.data !== undefined,
        baseDir: p.base,
        baseGiven: p.baseGiven,
        out: p.out,
        // The no-flag run also trains the sft-general control that `deno task bench` pairs GASP against.
        controlOut: p.kind === "default" ? CONTROL_OUT : undefined,
        pckSequences: a.pckSequences ?? await pckSequencesFor(p.config, p.base, log),
        log,
      });
    }
    log(`run written to ${p.out} (${elapsed(t0)})`);
  });
}

/** The default held-out PCK sequence count for the base at `base` (24 where its config.json cannot be read). */
async function pckSequencesFor(config: TrainConfig, base: string, log: (l: string) => void): Promise<number> {
  const model = await planModelConfig(base).catch(() => null);
  const n = model ? defaultPckSequences(config, model.config) : 24;
  if (n < 24) log(`PCK before/after on ${n} held-out sequences (a costly model; --pck-sequences N for more)`);
  return n;
}

/** The model `--plan` is for: DIR/config.json, or (no --model) runs/base's, else the tiny model it would train. */
async function planModelConfig(dir: string | undefined): Promise<{ config: VlmConfig; source: string }> {
  const path = resolve(dir ?? "runs/base", "config.json");
  if (existsSync(path)) return { config: parseVlmConfig(JSON.parse(await Deno.readTextFile(path))), source: path };
  if (dir === undefined) return { config: TINY_CONFIG, source: "the tiny base" };
  throw new ConfigError("--model", `${path} does not exist (a model folder needs its config.json)`);
}

function deepFile(file: unknown, over: Record<string, unknown>): Record<string, unknown> {
  return { ...(typeof file === "object" && file ? file as Record<string, unknown> : {}), ...over };
}

function elapsed(t0: number): string {
  const s = (performance.now() - t0) / 1000;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}
