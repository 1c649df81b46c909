/**
 * `deno task bench` as a library function: resolve suites, load each once, run every checkpoint's engine over them
 * (answers reused from the content-keyed answer cache where the same model saw the same request), score (strict
 * harness + robust), merge into results.json (per suite and checkpoint, never overwriting other suites) and write
 * the Table-1-style report.
 *
 * Output layout under `outDir`:
 *   answer-cache/{modelKey}.jsonl            every answer of one model, keyed by request hash (answer_cache.ts)
 *   {checkpoint}/{suite}.predictions.jsonl   this run's answers {id, itemHash, output, tokens, timingMs, cached}
 *   {checkpoint}/{suite}.samples.jsonl       with logSamples: question, target, response, parsed answer, score
 *   synthetic-data/                          the synthetic suites' files (cached by options)
 *   results.json                             results.ts BenchResults (scores, baselines, CIs, tests, run configs)
 *   report.md                                report.ts
 */
import { join } from "node:path";
import { ConfigError, DataFormatError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../core/io/atomic.ts";
import { allAngles } from "./all_angles.ts";
import { AnswerCache } from "./answer_cache.ts";
import { blink } from "./blink.ts";
import { cvBench } from "./cv_bench.ts";
import { renderMarkdown } from "./report.ts";
import {
  type BenchResults,
  checkpointNames,
  type FreshSuite,
  mergeResults,
  type ModelInfo,
  readResults,
  type RunConfig,
} from "./results.ts";
import { formatProgress, type Prediction, runPredictions } from "./runner.ts";
import { type BenchmarkModule, type LoadOptions } from "./suite.ts";
import { buildSyntheticSuites, DEFAULT_SYNTHETIC, type SyntheticOptions } from "./synthetic/build.ts";
import type { BenchEngine, BenchItem, ItemScore } from "./types.ts";
import { VisualResolver } from "./visuals.ts";
import { vsiBench } from "./vsi_bench.ts";
import { withPriors } from "./vsi_bias_probe.ts";

export const REAL_SUITES: Record<string, BenchmarkModule> = {
  "all-angles": allAngles,
  vsi: vsiBench,
  blink,
  "cv-bench": cvBench,
};
export const SYNTHETIC_SUITES = [
  "synthetic-camera-pose",
  "synthetic-counting",
  "synthetic-rel-distance",
  "synthetic-rel-direction",
  "synthetic-correspondence",
  "synthetic-depth-order",
];
export const SUITE_NAMES = [...Object.keys(REAL_SUITES), "vsi-bias", "synthetic", ...SYNTHETIC_SUITES];

export interface NamedEngine {
  name: string;
  engine: BenchEngine;
  /**
   * The answer-cache key: a hash of the model's files and of the engine settings that change answers
   * (models.ts benchModel). Absent: this engine's answers are neither reused nor recorded.
   */
  cacheKey?: string;
  model?: ModelInfo;
}

export interface BenchOptions {
  suites: string[];
  /** Data path per real suite ("vsi-bias" uses the "vsi" entry). */
  data: Record<string, string>;
  checkpoints: NamedEngine[];
  outDir: string;
  limit?: number;
  load?: LoadOptions;
  maxTokens?: number;
  batchSize?: number;
  seed?: number;
  synthetic?: SyntheticOptions;
  notes?: string[];
  log?: (line: string) => void;
  /** Reuse cached answers (default true); false = `--no-cache` (generate all, record the fresh answers). */
  reuseCache?: boolean;
  /** Write `{checkpoint}/{suite}.samples.jsonl` (question, target, response, parsed answer, score per item). */
  logSamples?: boolean;
  /** The checkpoint the others are paired against (default: sft-general when present, else the first). */
  control?: string;
  /** The command line, recorded in the run config. */
  argv?: string[];
}

interface LoadedSuite {
  suite: string;
  module: BenchmarkModule;
  items: BenchItem[];
}

/** An empty benchmark has no score: it is an error, never an "n/a" that exits 0. */
function nonEmpty(items: BenchItem[], path: string): BenchItem[] {
  if (items.length === 0) {
    throw new DataFormatError(
      path,
      "(items)",
      "at least one benchmark item",
      "none found: an empty benchmark has no score",
    );
  }
  return items;
}

async function loadSuites(o: BenchOptions): Promise<LoadedSuite[]> {
  const wanted = o.suites.flatMap((s) => (s === "synthetic" ? SYNTHETIC_SUITES : [s]));
  for (const s of wanted) {
    if (!SUITE_NAMES.includes(s)) {
      throw new ConfigError("--suite", `unknown suite "${s}" (one of ${SUITE_NAMES.join(", ")})`);
    }
  }
  const out: LoadedSuite[] = [];
  const synth = wanted.filter((s) => s.startsWith("synthetic-"));
  if (synth.length) {
    const dir = join(o.outDir, "synthetic-data");
    o.log?.(`bench: building synthetic suites in ${dir} (cached)`);
    const t0 = performance.now();
    const specs = await buildSyntheticSuites(dir, o.synthetic ?? DEFAULT_SYNTHETIC);
    o.log?.(`bench: synthetic suites ready (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    for (const sp of specs.filter((sp) => synth.includes(sp.suite))) {
      out.push({
        suite: sp.suite,
        module: sp.module,
        items: nonEmpty(await sp.module.load(sp.path, { ...sp.load, limit: o.limit }), sp.path),
      });
    }
  }
  for (const s of wanted.filter((s) => !s.startsWith("synthetic-"))) {
    const key = s === "vsi-bias" ? "vsi" : s;
    const path = o.data[key];
    if (!path) {
      throw new ConfigError(
        "--data",
        `suite ${s} needs its data path (--data ${key}=PATH, or --data PATH with one real suite)`,
      );
    }
    const module = REAL_SUITES[key];
    const items = nonEmpty(await module.load(path, { ...o.load, limit: o.limit }), path);
    if (s === "vsi-bias") {
      out.push({ suite: "vsi", module, items });
      out.push({ suite: "vsi+avg-prior", module, items: withPriors(items) });
    } else {
      out.push({ suite: s, module, items });
    }
  }
  // De-duplicate (e.g. "vsi" and "vsi-bias" both asked).
  return out.filter((s, i) => out.findIndex((t) => t.suite === s.suite) === i);
}

/** One line per item, as lmms-eval's --log_samples: what was asked, the gold answer, the reply, its parse, its score. */
function sampleLines(items: readonly BenchItem[], preds: Map<string, Prediction>, scores: readonly ItemScore[]) {
  return items.map((it, i) =>
    JSON.stringify({
      doc_id: i,
      id: it.id,
      category: it.category,
      question: it.prompt,
      images: it.images.length,
      target: it.gold,
      target_text: it.choices[it.gold] ?? null,
      response: preds.get(it.id)!.output,
      parsed: scores[i].parsedStrict,
      parsed_robust: scores[i].parsedRobust,
      score: scores[i].strict,
      score_robust: scores[i].robust,
      cached: preds.get(it.id)!.cached,
      item_hash: preds.get(it.id)!.itemHash,
    }) + "\n"
  ).join("");
}

function runConfig(o: BenchOptions, startedAt: Date): RunConfig {
  const load = o.load ?? {};
  return {
    id: startedAt.toISOString(),
    startedAt: startedAt.toISOString(),
    finishedAt: null,
    argv: o.argv ?? null,
    suites: o.suites,
    data: o.data,
    limit: o.limit ?? null,
    load: { frames: load.frames ?? null, videoDir: load.videoDir ?? null, framesDir: load.framesDir ?? null },
    maxTokens: o.maxTokens ?? null,
    batchSize: o.batchSize ?? null,
    seed: o.seed ?? 0,
    synthetic: o.suites.some((s) => s.startsWith("synthetic")) ? { ...(o.synthetic ?? DEFAULT_SYNTHETIC) } : null,
    reuseCache: o.reuseCache ?? true,
    logSamples: o.logSamples ?? false,
    control: o.control ?? null,
    models: o.checkpoints.map((c) => ({ name: c.name, ...c.model })),
    host: { os: Deno.build.os, arch: Deno.build.arch, cpus: navigator.hardwareConcurrency, deno: Deno.version.deno },
    notes: o.notes ?? [],
  };
}

export async function runBench(o: BenchOptions): Promise<{ results: BenchResults; markdown: string }> {
  if (o.checkpoints.length === 0) throw new ConfigError("--model", "no models to benchmark");
  const names = o.checkpoints.map((c) => c.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new ConfigError("--model", `two checkpoints are both named "${dup}" (their folder names)`);
  const resultsPath = join(o.outDir, "results.json");
  const prev = await readResults(resultsPath); // a foreign file fails here, before any work
  const known = [...new Set([...names, ...(prev ? checkpointNames(prev) : [])])];
  if (o.control !== undefined && !known.includes(o.control)) {
    throw new ConfigError("--control", `"${o.control}" is not one of the checkpoints (${known.join(", ")})`);
  }
  const run = runConfig(o, new Date());
  const suites = await loadSuites(o);
  const reuse = o.reuseCache ?? true;
  const resolver = new VisualResolver();
  const fresh = suites.map((s) => ({ ...s, itemHashes: [] as string[], entries: [] as FreshSuite["entries"] }));
  for (const ck of o.checkpoints) {
    const cache = ck.cacheKey
      ? await AnswerCache.open(join(o.outDir, "answer-cache"), ck.cacheKey, { read: reuse })
      : undefined;
    if (!cache) o.log?.(`bench: ${ck.name}: no model content key, so its answers are not cached`);
    try {
      for (const f of fresh) {
        let last = 0;
        const t0 = performance.now();
        const r = await runPredictions({
          engine: ck.engine,
          items: f.items,
          cache,
          reuse,
          suite: `${ck.name} · ${f.suite}`,
          resolver,
          batchSize: o.batchSize,
          maxTokens: o.maxTokens,
          seed: o.seed,
          onProgress: (p) => {
            const now = performance.now();
            if (now - last > 2000 || p.done === p.total) {
              last = now;
              o.log?.(formatProgress(p));
            }
          },
        });
        const secs = (performance.now() - t0) / 1000;
        o.log?.(
          `bench: ${ck.name} · ${f.suite}: reused ${r.reused} answers` +
            (reuse ? "" : " (--no-cache)") + `, generated ${r.generated}` +
            (r.generated ? ` in ${secs.toFixed(1)} s (${(secs / r.generated).toFixed(2)} s/item)` : ""),
        );
        const hashes = f.items.map((it) => r.predictions.get(it.id)!.itemHash);
        if (f.itemHashes.length === 0) f.itemHashes.push(...hashes);
        else if (hashes.some((h, i) => h !== f.itemHashes[i])) {
          // Every checkpoint gets the same requests; a difference would make the paired tests meaningless.
          throw new Error(`bench: ${ck.name} · ${f.suite}: requests differ from the first checkpoint's`);
        }
        const perItem = f.items.map((it) => f.module.score(it, r.predictions.get(it.id)!.output));
        const dir = join(o.outDir, ck.name);
        await writeFileAtomic(
          join(dir, `${f.suite}.predictions.jsonl`),
          [...r.predictions.values()].map((p) => JSON.stringify(p) + "\n").join(""),
        );
        if (o.logSamples) {
          await writeFileAtomic(join(dir, `${f.suite}.samples.jsonl`), sampleLines(f.items, r.predictions, perItem));
        }
        f.entries.push({
          checkpoint: ck.name,
          model: ck.model ?? null,
          perItem,
          reused: r.reused,
          generated: r.generated,
          seconds: secs,
        });
      }
    } finally {
      cache?.close();
    }
  }
  run.finishedAt = new Date().toISOString();
  const results = mergeResults(prev, fresh, run, { control: o.control, log: o.log });
  const markdown = renderMarkdown(results);
  await writeFileAtomic(resultsPath, JSON.stringify(results, null, 1));
  await writeFileAtomic(join(o.outDir, "report.md"), markdown);
  return { results, markdown };
}
