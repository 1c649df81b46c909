/**
 * deno task bench — spatial benchmarks (Sec 5.4) through the real inference engine (core/engine/ort_engine.ts:
 * onnxruntime-web, WebGPU EP on a hardware adapter, else WASM), with a Table-1-style report
 * (eval/benchmarks/bench_run.ts). `--help` lists the flags.
 *
 * With no flags: the six synthetic suites, 300 questions each, on base, sft-general and GASP (and corr-only when
 * runs/corr-only exists) side by side, with chance, majority, 95 % intervals and paired tests against sft-general.
 * Answers are cached by content (model files + request), so a rerun, or a run after training one more model, only
 * generates what is new.
 *
 * Sizing, measured 2026-12-01 on this shared 2-core machine (WASM EP, tiny model, load average 0.5-1.4, i.e. no
 * other heavy job), 40 items per suite: per item 0.05-0.11 s for the 1-2 image suites (228-410 prompt tokens) and
 * 0.25-0.27 s for the 8-frame VSI-style suites (596-760 tokens) at the full 16 new tokens; 0.04-0.09 s and 0.18-0.25 s
 * when answers stop after 2 tokens (a trained model's letter). That is 250-315 s per model for 6 × 300 items, so the
 * three default models take about 13-16 minutes (21 with corr-only), plus 83-117 s to build the 300-per-suite
 * synthetic data once. Measured end to end: the no-flag run over three tiny models (seeded random weights, answers
 * 15.2-16.0 tokens, the slow case) took 14.6 min wall (874 s, 117 s of it the build), 0.14 s per item on average; the
 * rerun took 47 s (all 5,400 answers reused). Under the load of other engineers' jobs (load ~5-6) an earlier
 * measurement was 3-6x slower.
 * 300 per suite is what a reported table needs (95 % interval about ±5.7 points at 50 %); smaller --per-suite or
 * --limit runs are marked in the report as too small for it.
 * Progress goes to stderr; the report to stdout and OUT/report.md, the data to OUT/results.json.
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
 * Questions per synthetic suite without --per-suite: 300, the size a reported table needs (issue 13), and a multiple
 * of 4 letters, 3 camera-pose options and 2 depth choices, so gold answers stay balanced. About 15 minutes for the
 * three default models here (timing above).
 */
const BENCH_PER_SUITE = MIN_REPORT_ITEMS;

const cmd = defineCommand({
  name: "bench",
  summary:
    "Spatial benchmarks (All-Angles, VSI-Bench, BLINK, CV-Bench, synthetic suites) through the inference engine.",
  description: "With no flags: the six synthetic suites (300 questions each) on base, sft-general and GASP side by " +
    "side, plus corr-only when present (runs/base, runs/sft-general, runs/gasp, runs/corr-only: the folders " +
    "`deno task train --preset P` writes), with chance, majority, 95 % intervals and paired tests against " +
    "sft-general. --model is a training run, an export, a model folder or a step checkpoint (repeatable; one " +
    "without an export is exported to a temporary folder first), and bench prints what it resolved. Answers are " +
    "cached by the model files' and the request's content hashes: a rerun reuses them (and says how many); " +
    "--no-cache asks again. results.json keeps every suite across runs (a run replaces only what it scored). --stand-in benchmarks the labelled STAND-IN engine instead (pipeline check, not a model). " +
    "--data takes SUITE=PATH (or PATH when one real suite runs). Synthetic-only runs without --max-tokens give every " +
    `item ${SYNTHETIC_MAX_TOKENS} new tokens (answers are a letter or a number); real suites keep their harness ` +
    "values. Progress goes to stderr; the report to stdout and OUT/report.md, the data to OUT/results.json.",
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
    seed: flag.int("generation seed sent with every request (answers are greedy, temperature 0)", {
      default: 0,
      min: 0,
    }),
    syntheticSeed: flag.int(
      "seed of the synthetic suites' scenes and questions (another seed draws a separate set, e.g. for validation)",
      { default: DEFAULT_SYNTHETIC.seed, min: 0 },
    ),
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
          `${m.name}: ${m.model!.given ? `${m.model!.given} → ` : ""}${m.model!.path} ` +
            `(sha256 ${m.model!.sha256.slice(0, 16)}…) on onnxruntime-web ${m.model!.engine}`,
        );
      }
    }

    const syntheticOnly = suites.every((s) => s.startsWith("synthetic"));
    const maxTokens = values.maxTokens ?? (syntheticOnly ? SYNTHETIC_MAX_TOKENS : undefined);
    if (maxTokens !== undefined) notes.push(`max new tokens per item: ${maxTokens}`);
    const synthAsked = suites.some((s) => s.startsWith("synthetic"));
    if (synthAsked && Math.min(values.perSuite, values.limit ?? Infinity) < MIN_REPORT_ITEMS) {
      notes.push(
        `${Math.min(values.perSuite, values.limit ?? Infinity)} items per synthetic suite: fewer than the ` +
          `${MIN_REPORT_ITEMS} a reported table needs (the default); these intervals are wide.`,
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
      synthetic: {
        ...DEFAULT_SYNTHETIC,
        seed: values.syntheticSeed,
        perSuite: values.perSuite,
        imageSize: values.imageSize,
      },
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
