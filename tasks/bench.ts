/**
 * deno task bench [--suite all-angles|vsi|vsi-bias|blink|cv-bench|synthetic|synthetic-… …] [--data [SUITE=]PATH …]
 *                 [--checkpoint DIR …] [--stand-in] [--limit N] [--out DIR] [--json FILE] [--frames N]
 *                 [--video-dir DIR] [--frames-dir DIR] [--max-tokens N] [--batch-size N] [--seed S]
 *                 [--per-suite N] [--image-size PX]
 * Spatial benchmarks (Sec 5.4) through the inference engine, resumable, with a Table-1-style report
 * (eval/benchmarks/bench_run.ts). With no flags: the synthetic suites on the tiny base and GASP checkpoints
 * (runs/base, runs/gasp). `--stand-in` benchmarks core/engine's labelled STAND-IN engine instead (pipeline check,
 * not a model). Progress goes to stderr; the report to stdout and OUT/report.{md,json}.
 */
import { basename, resolve } from "node:path";
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { createEngine } from "../core/engine/load.ts";
import { ConfigError } from "../core/errors.ts";
import { writeFileAtomic } from "../core/io/atomic.ts";
import { type NamedEngine, REAL_SUITES, runBench } from "../eval/benchmarks/bench_run.ts";
import { DEFAULT_SYNTHETIC } from "../eval/benchmarks/synthetic/build.ts";

/** Where `deno task train` leaves the tiny base model and the GASP model (the no-flag default). */
const DEFAULT_CHECKPOINTS = ["runs/base", "runs/gasp"];

const { values } = parseArgs({
  args: Deno.args,
  options: {
    suite: { type: "string", multiple: true },
    data: { type: "string", multiple: true },
    checkpoint: { type: "string", multiple: true },
    "stand-in": { type: "boolean", default: false },
    limit: { type: "string" },
    out: { type: "string", default: "runs/bench" },
    json: { type: "string" },
    frames: { type: "string" },
    "video-dir": { type: "string" },
    "frames-dir": { type: "string" },
    "max-tokens": { type: "string" },
    "batch-size": { type: "string" },
    seed: { type: "string", default: "0" },
    "per-suite": { type: "string" },
    "image-size": { type: "string" },
  },
  strict: true,
});

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`--${name}`, `expected an integer ≥ ${min}, got "${v}"`);
  return n;
}

const suites = values.suite ?? ["synthetic"];
const realAsked = suites.map((s) => (s === "vsi-bias" ? "vsi" : s)).filter((s) => s in REAL_SUITES);
const data: Record<string, string> = {};
for (const d of values.data ?? []) {
  const m = /^([a-z-]+)=(.*)$/.exec(d);
  if (m && m[1] in REAL_SUITES) data[m[1]] = resolve(m[2]);
  else if (realAsked.length === 1) data[realAsked[0]] = resolve(d);
  else throw new ConfigError("--data", `"${d}": with several real suites write --data SUITE=PATH`);
}

const notes: string[] = [];
const checkpoints: NamedEngine[] = [];
if (values["stand-in"]) {
  const le = await createEngine(undefined, { standIn: true, standInOptions: { tokenDelayMs: 0 } });
  console.error(`bench: ${le.description}`);
  checkpoints.push({ name: "STAND-IN-not-a-model", engine: le.engine });
  notes.push(`STAND-IN engine (core/engine/stand_in.ts), not a model: ${le.description}`);
} else {
  const dirs = values.checkpoint ?? DEFAULT_CHECKPOINTS;
  const missing = dirs.filter((d) => !existsSync(d));
  if (missing.length) {
    throw new ConfigError(
      "--checkpoint",
      `no checkpoint at ${missing.join(", ")}. ` +
        (values.checkpoint
          ? "Pass existing checkpoint folders."
          : "Run `deno task train` first (it trains the tiny base model, then GASP, into runs/), " +
            "or pass --checkpoint DIR …, or --stand-in to check the benchmark pipeline with the labelled stand-in engine."),
    );
  }
  for (const d of dirs) {
    const le = await createEngine(resolve(d));
    if (le.standIn) {
      throw new ConfigError(
        "--checkpoint",
        `core/engine/load.ts gave the STAND-IN engine for ${d} (${le.description}). ` +
          "The real engine is not wired in yet; rerun with --stand-in to benchmark the stand-in explicitly.",
      );
    }
    console.error(`bench: ${basename(d)}: ${le.description}`);
    checkpoints.push({ name: basename(resolve(d)), engine: le.engine });
  }
}

const out = resolve(values.out!);
const t0 = performance.now();
const { report, markdown } = await runBench({
  suites,
  data,
  checkpoints,
  outDir: out,
  limit: int("limit", values.limit, 1),
  load: {
    frames: int("frames", values.frames, 1),
    videoDir: values["video-dir"] && resolve(values["video-dir"]),
    framesDir: values["frames-dir"] && resolve(values["frames-dir"]),
  },
  maxTokens: int("max-tokens", values["max-tokens"], 1),
  batchSize: int("batch-size", values["batch-size"], 1),
  seed: int("seed", values.seed, 0),
  synthetic: {
    ...DEFAULT_SYNTHETIC,
    perSuite: int("per-suite", values["per-suite"], 1) ?? DEFAULT_SYNTHETIC.perSuite,
    imageSize: int("image-size", values["image-size"], 16) ?? DEFAULT_SYNTHETIC.imageSize,
  },
  notes,
  log: (l) => console.error(l),
});
if (values.json) await writeFileAtomic(resolve(values.json), JSON.stringify(report, null, 1));
console.log(markdown);
console.error(`bench: done in ${((performance.now() - t0) / 1000).toFixed(1)} s; report in ${out}/report.md`);
