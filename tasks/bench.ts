/**
 * deno task bench [--suite all-angles|vsi|vsi-bias|blink|cv-bench|synthetic|synthetic-… …] [--data [SUITE=]PATH …]
 *                 [--checkpoint DIR …] [--stand-in] [--ep auto|wasm|webgpu] [--limit N] [--out DIR] [--json FILE]
 *                 [--frames N] [--video-dir DIR] [--frames-dir DIR] [--max-tokens N] [--batch-size N] [--seed S]
 *                 [--per-suite N] [--image-size PX]
 * Spatial benchmarks (Sec 5.4) through the real inference engine (core/engine/ort_engine.ts: onnxruntime-web, WebGPU
 * EP on a hardware adapter, else WASM), resumable, with a Table-1-style report (eval/benchmarks/bench_run.ts).
 *
 * With no flags: the six synthetic suites (BENCH_PER_SUITE = 32 questions each) on the tiny base and GASP models
 * side by side (runs/base/export and runs/gasp/export, written by `deno task train`). A --checkpoint is an export
 * dir or a training output dir holding export/. `--stand-in` benchmarks core/engine's labelled STAND-IN engine instead
 * (pipeline check, not a model).
 *
 * Max new tokens: when only synthetic suites run and --max-tokens is not given, every item gets
 * SYNTHETIC_MAX_TOKENS = 16 (their answers are one letter or one number; VSI's own harness uses 16) instead of the
 * harness values (BLINK / CV-Bench: 1024), which an untrained or weakly trained model would fill with noise. Real
 * suites keep their harness values unless --max-tokens is given.
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
import { parseArgs } from "node:util";
import { checkpointLabel, createEngine, resolveExportDir } from "../core/engine/load.ts";
import { ConfigError } from "../core/errors.ts";
import { writeFileAtomic } from "../core/io/atomic.ts";
import type { ExecutionProviderChoice } from "../core/model/ort_runner.ts";
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

const { values } = parseArgs({
  args: Deno.args,
  options: {
    suite: { type: "string", multiple: true },
    data: { type: "string", multiple: true },
    checkpoint: { type: "string", multiple: true },
    "stand-in": { type: "boolean", default: false },
    ep: { type: "string", default: "auto" },
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
  const ep = values.ep as ExecutionProviderChoice;
  if (!["auto", "wasm", "webgpu"].includes(ep)) throw new ConfigError("--ep", `auto, wasm or webgpu, got "${ep}"`);
  const missing = dirs.filter((d) => !existsSync(resolve(d)));
  if (missing.length && !values.checkpoint) {
    throw new ConfigError(
      "--checkpoint",
      `no trained model at ${missing.map((d) => `${d}/export`).join(", ")}. ` +
        "Run `deno task train` first (it trains the tiny base model, then GASP, and exports both to " +
        "runs/base/export and runs/gasp/export), or pass --checkpoint DIR … (an export dir, e.g. one written by " +
        "`deno task export`), or --stand-in to check the benchmark pipeline with the labelled stand-in engine.",
    );
  }
  for (const d of dirs) {
    const dir = resolveExportDir(d); // names the dir and the missing files when it is not an export
    const le = await createEngine(dir, { executionProvider: ep });
    if (le.standIn) throw new ConfigError("--checkpoint", `core/engine/load.ts gave the STAND-IN engine for ${d}`);
    console.error(`bench: ${checkpointLabel(dir)}: ${le.description}`);
    checkpoints.push({ name: checkpointLabel(dir), engine: le.engine });
    notes.push(`${checkpointLabel(dir)}: ${dir} on onnxruntime-web ${le.engine.id}`);
  }
  const names = checkpoints.map((c) => c.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new ConfigError("--checkpoint", `two checkpoints are both named "${dup}" (their folder names)`);
}

const syntheticOnly = suites.every((s) => s.startsWith("synthetic"));
const maxTokens = int("max-tokens", values["max-tokens"], 1) ?? (syntheticOnly ? SYNTHETIC_MAX_TOKENS : undefined);
if (maxTokens !== undefined) notes.push(`max new tokens per item: ${maxTokens}`);
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
  maxTokens,
  batchSize: int("batch-size", values["batch-size"], 1),
  seed: int("seed", values.seed, 0),
  synthetic: {
    ...DEFAULT_SYNTHETIC,
    perSuite: int("per-suite", values["per-suite"], 1) ?? BENCH_PER_SUITE,
    imageSize: int("image-size", values["image-size"], 16) ?? DEFAULT_SYNTHETIC.imageSize,
  },
  notes,
  log: (l) => console.error(l),
});
if (values.json) await writeFileAtomic(resolve(values.json), JSON.stringify(report, null, 1));
console.log(markdown);
console.error(`bench: done in ${((performance.now() - t0) / 1000).toFixed(1)} s; report in ${out}/report.md`);
