/**
 * The `deno task train` command (tasks/train.ts is its thin entry point): parse flags (train/config.ts), then run
 * the default pipeline, one base stage, or one GASP / baseline run.
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../core/errors.ts";
import { parseTrainArgs, resolveBaseConfig, resolveTrainConfig } from "./config.ts";
import { train } from "./loop.ts";
import { loadCheckpoint } from "./checkpoint.ts";
import { defaultPipeline, ensureBase, ensureData } from "./pipeline.ts";

/** Splits off this command's own flags (--data, --base, --pck-sequences) from the config flags. */
function ownFlags(args: string[]): { rest: string[]; data: string; base: string; pck: number } {
  const own = new Set(["--data", "--base", "--pck-sequences"]);
  const rest: string[] = [], mine: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const [flag] = args[i].split("=");
    if (own.has(flag)) {
      mine.push(args[i]);
      if (!args[i].includes("=")) mine.push(args[++i]);
    } else rest.push(args[i]);
  }
  const { values } = parseArgs({
    args: mine,
    options: { data: { type: "string" }, base: { type: "string" }, "pck-sequences": { type: "string" } },
  });
  const pck = Number(values["pck-sequences"] ?? 24);
  if (!Number.isInteger(pck) || pck < 1) throw new ConfigError("--pck-sequences", `a positive integer, got ${pck}`);
  return { rest, data: values.data ?? "runs/data", base: values.base ?? "runs/base", pck };
}

export async function runTrainCommand(argv: string[]): Promise<void> {
  const log = (l: string) => console.log(l);
  const { rest, data, base, pck } = ownFlags(argv);
  const args = parseTrainArgs(rest);
  const configFile = args.configPath ? JSON.parse(await Deno.readTextFile(args.configPath)) : undefined;
  const t0 = performance.now();
  if (args.overrides.stage === "base") {
    const { stage: _s, ...over } = args.overrides;
    const config = args.resume && Object.keys(over).length === 0 && !configFile
      ? (await loadCheckpoint(args.resume)).config
      : resolveBaseConfig(deepFile(configFile, over));
    await ensureData(data, log);
    const out = args.out ?? base;
    const r = await train(config, { out, resume: args.resume, dataDir: data, log });
    log(`base model written to ${out} (${r.step} steps, ${elapsed(t0)})`);
    return;
  }
  // A resumed run keeps its checkpoint's config unless flags say otherwise (then they must match it exactly).
  const fromCheckpoint = args.resume && !args.preset && !args.configPath && Object.keys(args.overrides).length === 0;
  const config = fromCheckpoint
    ? (await loadCheckpoint(args.resume!)).config
    : resolveTrainConfig({ preset: args.preset, configFile, overrides: args.overrides });
  const isDefault = !args.preset && !args.configPath && !args.resume && Object.keys(args.overrides).length === 0;
  const out = args.out ?? (args.resume && fromCheckpoint ? args.resume : undefined) ??
    (config.preset === "full" ? "runs/gasp" : `runs/${config.preset}`);
  if (isDefault || !args.resume) {
    // The embedded default (and any fresh GASP run) prints PCK before/after; a resumed run just continues.
    await defaultPipeline(config, { dataDir: data, baseDir: base, out, pckSequences: pck, log });
  } else {
    await ensureData(data, log);
    await ensureBase(base, data, log);
    await train(config, { out, resume: args.resume, dataDir: data, baseDir: base, log });
  }
  log(`run written to ${out} (${elapsed(t0)})`);
}

function deepFile(file: unknown, over: Record<string, unknown>): Record<string, unknown> {
  return { ...(typeof file === "object" && file ? file as Record<string, unknown> : {}), ...over };
}

function elapsed(t0: number): string {
  const s = (performance.now() - t0) / 1000;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}
