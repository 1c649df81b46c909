/**
 * deno task bench — spatial benchmarks (Sec 5.4) through the real inference engine (core/engine/ort_engine.ts:
 * onnxruntime-web, WebGPU EP on a hardware adapter, else WASM), resumable, with a Table-1-style report
 * (eval/benchmarks/bench_run.ts). `--help` lists the flags.
 *
 * Sizing (measured 2026-11-26 on this 2-core llvmpipe machine, WASM EP, tiny model, other jobs running, load ~5-6):
 * per item 0.15-0.3 s for the 1-2 image suites (226-410 prompt tokens) and 0.8-1.8 s for the 8-frame VSI-style
 * suites (600-760 prompt tokens), when every answer runs the full 16 tokens. 48 per suite took 9.1 min in all
 * (59 s of it the one-time synthetic build), too close to 15 min on a busy machine, so the default is 32 per suite:
 * 2 models x 6 suites x 32 = 384 items, about 6 minutes under that load, less when the trained models stop early.
 * Progress goes to stderr; the report to stdout and OUT/report.{md,json}.
 */
import { resolve } from "node:path";
import { existsSync } from "node:fs";
import { defineCommand, flag, runCommand } from "../core/cli.ts";
import { checkpointLabel, createEngine, resolveExportDir } from "../core/engine/load.ts";
import { ConfigError } from "../core/errors.ts";
import { writeFileAtomic } from "../core/io/atomic.ts";
import { type NamedEngine, REAL_SUITES, runBench } from "../eval/benchmarks/bench_run.ts";
import { DEFAULT_SYNTHETIC } from "../eval/benchmarks/synthetic/build.ts";

/** Where `deno task train` leaves the tiny base model and the GASP model (the no-flag default). */
const DEFAULT_CHECKPOINTS = ["runs/base", "runs/gasp"];
/** Max new tokens for synthetic-only runs without --max-tokens (answers are a letter or a number). */
const SYNTHETIC_MAX_TOKENS = 16;
/**
 * Questions per synthetic suite without --per-suite: 32 (a multiple of 4 letters, 2 depth choices and the 2 camera-pose
 * halves, so answers stay balanced), sized from the timing above to finish well inside 15 minutes.
 */
const BENCH_PER_SUITE = 32;

const cmd = defineCommand({
  name: "bench",
  summary:
    "Spatial benchmarks (All-Angles, VSI-Bench, BLINK, CV-Bench, synthetic suites) through the inference engine.",
  description: "With no flags: the six synthetic suites on the tiny base and GASP models side by side " +
    "(runs/base and runs/gasp, written by `deno task train`). --model is an export folder or a training run folder " +
    "holding export/. --stand-in benchmarks the labelled STAND-IN engine instead (pipeline check, not a model). " +
    "--data takes SUITE=PATH (or PATH when one real suite runs). Synthetic-only runs without --max-tokens give every " +
    `item ${SYNTHETIC_MAX_TOKENS} new tokens (answers are a letter or a number); real suites keep their harness ` +
    "values. Progress goes to stderr; the report to stdout and OUT/report.{md,json}.",
  flags: {
    suite: flag.list("suite: all-angles, vsi, vsi-bias, blink, cv-bench, synthetic, synthetic-<name>", {
      default: ["synthetic"],
      placeholder: "NAME",
    }),
    data: flag.list("dataset of a real suite", { placeholder: "[SUITE=]PATH" }),
    model: flag.list("model or training run folder", { placeholder: "DIR" }),
    standIn: flag.boolean("benchmark the labelled STAND-IN engine (not a model)"),
    ep: flag.choice(["auto", "wasm", "webgpu"] as const, "onnxruntime-web execution provider", { default: "auto" }),
    limit: flag.int("items per suite at most", { min: 1 }),
    out: flag.string("output folder", { default: "runs/bench", placeholder: "DIR" }),
    json: flag.string("also write report.json here", { placeholder: "FILE" }),
    frames: flag.int("video frames per item (VSI-Bench)", { min: 1 }),
    videoDir: flag.string("folder of VSI-Bench videos", { placeholder: "DIR" }),
    framesDir: flag.string("folder of pre-extracted video frames", { placeholder: "DIR" }),
    maxTokens: flag.int("max new tokens per item", { min: 1 }),
    batchSize: flag.int("items per engine call", { min: 1 }),
    seed: flag.int("seed (frame sampling, synthetic suites)", { default: 0, min: 0 }),
    perSuite: flag.int("questions per synthetic suite", { default: BENCH_PER_SUITE, min: 1 }),
    imageSize: flag.int("synthetic image side in px", { default: DEFAULT_SYNTHETIC.imageSize, min: 16 }),
  },
});

await runCommand(cmd, Deno.args, async (values) => {
  const suites = values.suite;
  const realAsked = suites.map((s) => (s === "vsi-bias" ? "vsi" : s)).filter((s) => s in REAL_SUITES);
  const data: Record<string, string> = {};
  for (const d of values.data) {
    const m = /^([a-z-]+)=(.*)$/.exec(d);
    if (m && m[1] in REAL_SUITES) data[m[1]] = resolve(m[2]);
    else if (realAsked.length === 1) data[realAsked[0]] = resolve(d);
    else throw new ConfigError("--data", `"${d}": with several real suites write --data SUITE=PATH`);
  }

  const notes: string[] = [];
  const checkpoints: NamedEngine[] = [];
  if (values.standIn) {
    const le = await createEngine(undefined, { standIn: true, standInOptions: { tokenDelayMs: 0 } });
    console.error(`bench: ${le.description}`);
    checkpoints.push({ name: "STAND-IN-not-a-model", engine: le.engine });
    notes.push(`STAND-IN engine (core/engine/stand_in.ts), not a model: ${le.description}`);
  } else {
    const dirs = values.model.length ? values.model : DEFAULT_CHECKPOINTS;
    const ep = values.ep;
    const missing = dirs.filter((d) => !existsSync(resolve(d)));
    if (missing.length && !values.model.length) {
      throw new ConfigError(
        "--model",
        `no trained model at ${missing.map((d) => `${d}/export`).join(", ")}. ` +
          "Run `deno task train` first (it trains the tiny base model, then GASP, and exports both to " +
          "runs/base/export and runs/gasp/export), or pass --model DIR … (an export dir, e.g. one written by " +
          "`deno task export`), or --stand-in to check the benchmark pipeline with the labelled stand-in engine.",
      );
    }
    for (const d of dirs) {
      const dir = resolveExportDir(d); // names the dir and the missing files when it is not an export
      const le = await createEngine(dir, { executionProvider: ep });
      if (le.standIn) throw new ConfigError("--model", `core/engine/load.ts gave the STAND-IN engine for ${d}`);
      console.error(`bench: ${checkpointLabel(dir)}: ${le.description}`);
      checkpoints.push({ name: checkpointLabel(dir), engine: le.engine });
      notes.push(`${checkpointLabel(dir)}: ${dir} on onnxruntime-web ${le.engine.id}`);
    }
    const names = checkpoints.map((c) => c.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new ConfigError("--model", `two checkpoints are both named "${dup}" (their folder names)`);
  }

  const syntheticOnly = suites.every((s) => s.startsWith("synthetic"));
  const maxTokens = values.maxTokens ?? (syntheticOnly ? SYNTHETIC_MAX_TOKENS : undefined);
  if (maxTokens !== undefined) notes.push(`max new tokens per item: ${maxTokens}`);
  const out = resolve(values.out);
  const t0 = performance.now();
  const { report, markdown } = await runBench({
    suites,
    data,
    checkpoints,
    outDir: out,
    limit: values.limit,
    load: {
      frames: values.frames,
      videoDir: values.videoDir && resolve(values.videoDir),
      framesDir: values.framesDir && resolve(values.framesDir),
    },
    maxTokens,
    batchSize: values.batchSize,
    seed: values.seed,
    synthetic: {
      ...DEFAULT_SYNTHETIC,
      perSuite: values.perSuite,
      imageSize: values.imageSize,
    },
    notes,
    log: (l) => console.error(l),
  });
  if (values.json) await writeFileAtomic(resolve(values.json), JSON.stringify(report, null, 1));
  console.log(markdown);
  console.error(`bench: done in ${((performance.now() - t0) / 1000).toFixed(1)} s; report in ${out}/report.md`);
});
