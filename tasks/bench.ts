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
import { defineCommand, flag, runCommand } from "../core/cli.ts";
import { createEngine } from "../core/engine/load.ts";
import { ConfigError } from "../core/errors.ts";
import { writeFileAtomic } from "../core/io/atomic.ts";
import { hashParts } from "../eval/benchmarks/answer_cache.ts";
import { REAL_SUITES, runBench } from "../eval/benchmarks/bench_run.ts";
import { defaultComparisonDirs, loadBenchModel, type LoadedBenchModel } from "../eval/benchmarks/models.ts";
import { MIN_REPORT_ITEMS } from "../eval/benchmarks/results.ts";
import { DEFAULT_SYNTHETIC } from "../eval/benchmarks/synthetic/build.ts";

/** Max new tokens for synthetic-only runs without --max-tokens (answers are a letter or a number). */
const SYNTHETIC_MAX_TOKENS = 16;
/**
 * Questions per synthetic suite without --per-suite: 32 (a multiple of 4 letters, 2 depth choices and the 2 camera-pose
 * halves, so answers stay balanced), sized from the timing above to finish well inside 15 minutes.
 */
const BENCH_PER_SUITE = 32;
/** Minutes the no-flag run is sized to take on this machine. */
const DEFAULT_BUDGET_MIN = 15;

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
    json: flag.string("also write results.json here", { placeholder: "FILE" }),
    frames: flag.int("video frames per item (VSI-Bench)", { min: 1 }),
    videoDir: flag.string("folder of VSI-Bench videos", { placeholder: "DIR" }),
    framesDir: flag.string("folder of pre-extracted video frames", { placeholder: "DIR" }),
    maxTokens: flag.int("max new tokens per item", { min: 1 }),
    batchSize: flag.int("items per engine call", { min: 1 }),
    seed: flag.int("seed (frame sampling, synthetic suites)", { default: 0, min: 0 }),
    perSuite: flag.int("questions per synthetic suite", { default: BENCH_PER_SUITE, min: 1 }),
    imageSize: flag.int("synthetic image side in px", { default: DEFAULT_SYNTHETIC.imageSize, min: 16 }),
    noCache: flag.boolean("generate every answer again (the fresh answers replace the cached ones)"),
    logSamples: flag.boolean("write OUT/CHECKPOINT/SUITE.samples.jsonl: question, target, response, parsed, score"),
    control: flag.string("checkpoint the others are paired against (default: sft-general, else the first)", {
      placeholder: "NAME",
    }),
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
  const checkpoints: LoadedBenchModel[] = [];
  const log = (l: string) => console.error(l);
  try {
    if (values.standIn) {
      const le = await createEngine(undefined, { standIn: true, standInOptions: { tokenDelayMs: 0 } });
      log(`bench: ${le.description}`);
      checkpoints.push({
        name: "STAND-IN-not-a-model",
        engine: le.engine,
        cacheKey: hashParts("stand-in-engine", le.engine.id),
        description: le.description,
        release: () => Promise.resolve(),
      });
      notes.push(`STAND-IN engine (core/engine/stand_in.ts), not a model: ${le.description}`);
    } else {
      const dirs = values.model.length ? values.model : defaultComparisonDirs();
      for (const d of dirs) {
        const m = await loadBenchModel(d, { executionProvider: values.ep, log });
        checkpoints.push(m);
        log(`bench: ${m.name}: ${m.description}`);
        notes.push(
          `${m.name}: ${m.model!.path} (sha256 ${m.model!.sha256.slice(0, 16)}…) on onnxruntime-web ${m.model!.engine}`,
        );
      }
    }

    const syntheticOnly = suites.every((s) => s.startsWith("synthetic"));
    const maxTokens = values.maxTokens ?? (syntheticOnly ? SYNTHETIC_MAX_TOKENS : undefined);
    if (maxTokens !== undefined) notes.push(`max new tokens per item: ${maxTokens}`);
    if (syntheticOnly && values.perSuite < MIN_REPORT_ITEMS) {
      notes.push(
        `${values.perSuite} items per synthetic suite, fewer than the ${MIN_REPORT_ITEMS} a reported table needs ` +
          `(chosen so the no-flag run fits in about ${DEFAULT_BUDGET_MIN} minutes here); ` +
          `run with --per-suite ${MIN_REPORT_ITEMS} for the README table.`,
      );
    }
    const out = resolve(values.out);
    const t0 = performance.now();
    const { results, markdown } = await runBench({
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
      synthetic: { ...DEFAULT_SYNTHETIC, perSuite: values.perSuite, imageSize: values.imageSize },
      notes,
      log,
      reuseCache: !values.noCache,
      logSamples: values.logSamples,
      control: values.control,
      argv: ["deno", "task", "bench", ...Deno.args],
    });
    if (values.json) await writeFileAtomic(resolve(values.json), JSON.stringify(results, null, 1));
    console.log(markdown);
    log(
      `bench: done in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s; results in ${out}/results.json, report in ${out}/report.md`,
    );
  } finally {
    for (const c of checkpoints) await c.release();
  }
});
