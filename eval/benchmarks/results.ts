/**
 * `results.json`: every suite's scores per checkpoint, with the trivial baselines (chance, majority), a 95 % interval
 * on the headline metric, paired tests against the control checkpoint, per-item scores (so later runs can be paired
 * with these), and the full config of the run that produced each entry.
 *
 * Merging: a run replaces the (suite, checkpoint) entries it produced and keeps every other entry, so re-running one
 * suite, or adding one checkpoint, leaves the rest of the multi-suite report in place. A kept entry of a suite is
 * dropped (with a log line) when that suite's items changed: entries in one table are always scored on the same
 * items, which is what makes their paired tests valid.
 */
import { DataFormatError } from "../../core/errors.ts";
import { mean } from "./metrics.ts";
import { bootstrapInterval, type Interval, mcnemarExact, pairedBootstrap, wilsonInterval } from "./statistics.ts";
import { type BenchmarkModule, chanceScores, majorityOutputs } from "./suite.ts";
import type { BenchItem, BenchmarkName, ItemScore } from "./types.ts";
import { readTextIfExists } from "../../core/io/json_file.ts";

/** The `schema` field of results.json. */
export const RESULTS_SCHEMA = "gasp-bench-results/1";
/** Items per suite below which the report says the intervals are too wide for the README table (issue 13). */
export const MIN_REPORT_ITEMS = 300;
/** Bootstrap draws and seed for intervals and paired tests (fixed: the same scores give the same report). */
export const BOOTSTRAP = { draws: 2000, seed: 0 };

/** Which model an entry scored: the folder it came from and the sha256 of its files. */
export interface ModelInfo {
  /** The export folder loaded. */
  path: string;
  /** What the user passed (`--model`), when it differs from `path`. */
  given?: string;
  /** answer_cache.ts modelContentHash of `path`. */
  sha256: string;
  /** The engine that ran it (e.g. "ort-wasm"). */
  engine: string;
}

/** The full configuration of one `deno task bench` run. */
export interface RunConfig {
  /** The run's id (its start time), the key in `BenchResults.runs`. */
  id: string;
  /** ISO start time. */
  startedAt: string;
  /** ISO end time; null while running. */
  finishedAt: string | null;
  /** The command line, when run as a task. */
  argv: string[] | null;
  /** Suites asked for. */
  suites: string[];
  /** Data path per real suite. */
  data: Record<string, string>;
  /** Every option is written out; null = not set (the suite's or engine's own default applies). */
  limit: number | null;
  /** Loader options (frames per video, video and frame folders). */
  load: Record<string, unknown>;
  /** Generation cap per item, when set. */
  maxTokens: number | null;
  /** Items per batched decode, when set. */
  batchSize: number | null;
  /** Sampling seed. */
  seed: number;
  /** The synthetic suites' options, when any ran. */
  synthetic: Record<string, unknown> | null;
  /** false under `--no-cache`. */
  reuseCache: boolean;
  /** Whether per-item samples were written. */
  logSamples: boolean;
  /** The checkpoint the others were paired against, when given. */
  control: string | null;
  /** Every checkpoint: its name and model files. */
  models: ({ name: string } & Partial<ModelInfo>)[];
  /** The machine it ran on. */
  host: { os: string; arch: string; cpus: number; deno: string };
  /** Notes the task adds (stand-in engine, token caps, …). */
  notes: string[];
}

/** A metric under the harness's strict answer extraction and under the robust one (0–1; null: undefined). */
export interface MetricValue {
  /** The public harness's extraction. */
  strict: number | null;
  /** The lenient extraction (robust_extraction.ts). */
  robust: number | null;
}

/** One checkpoint's scores on one suite. */
export interface CheckpointResult {
  /** The model files scored (null for baselines). */
  model: ModelInfo | null;
  /** `runs[run]` is the config that produced this entry. */
  run: string;
  /** Items scored. */
  n: number;
  /** Metric name → strict (harness) and robust extraction score, 0–1. */
  metrics: Record<string, MetricValue>;
  /** 95 % interval of the headline metric (strict). */
  ci95: (Interval & { method: "wilson" | "bootstrap" }) | null;
  /** Metrics whose strict score is below the majority baseline. */
  belowMajority: string[];
  /**
   * The most frequent strictly extracted answer ("" = nothing parsed) and its share of the items: a model that gives
   * one answer to (nearly) every item scores the gold share of that answer, i.e. about the majority baseline, whatever
   * it knows. Absent in results written before it existed.
   */
  modalAnswer?: ModalAnswer | null;
  /** Answers taken from the answer cache. */
  reused: number;
  /** Answers generated in the run. */
  generated: number;
  /** Wall time of answering this suite in its run (generation dominates; reused answers cost ~nothing). */
  seconds: number;
  /** Per-item strict and robust scores, aligned with the suite's `items`. */
  strict: number[];
  /** Per-item robust scores. */
  robust: number[];
}

/** A checkpoint's most frequent answer on a suite and the share of items it gave it to. */
export interface ModalAnswer {
  /** The strictly extracted answer ("" when nothing parsed). */
  answer: string;
  /** Its share of the suite's items, 0–1. */
  share: number;
}

/** The most frequent of `answers` (first seen wins a tie) and its share; null for no answers. */
export function modalAnswer(answers: readonly string[]): ModalAnswer | null {
  if (answers.length === 0) return null;
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
  let best = answers[0];
  for (const [a, c] of counts) if (c > counts.get(best)!) best = a;
  return { answer: best, share: counts.get(best)! / answers.length };
}

/** checkpoint `a` − checkpoint `b` on the headline metric, over the same items. */
export interface PairedComparison {
  /** The checkpoint tested. */
  a: string;
  /** The control it is tested against. */
  b: string;
  /** The headline metric. */
  metric: string;
  /** Paired items. */
  n: number;
  /** Mean difference a − b (strict). */
  diff: number | null;
  /** 95 % bootstrap interval of the difference. */
  ci95: Interval | null;
  /** Two-sided p-value of the test. */
  pValue: number | null;
  /** McNemar's exact test for 0/1 scores, the paired bootstrap otherwise. */
  test: "mcnemar-exact" | "paired-bootstrap";
  /** McNemar's discordant counts: items only `a` got right, only `b` got right. */
  discordant?: { aOnly: number; bOnly: number };
}

/** One suite's items, every checkpoint's scores, the trivial baselines and the paired tests. */
export interface SuiteResult {
  /** Suite name ("vsi", "synthetic-counting", …). */
  suite: string;
  /** The benchmark whose format and scoring it uses. */
  benchmark: BenchmarkName;
  /** The metric the intervals and tests are about: "official" where defined (CV-Bench), else "overall". */
  headline: string;
  /** Items. */
  n: number;
  /** Chance score per metric (uniform over the options). */
  chance: Record<string, number | null>;
  /** Score per metric of answering every item with its category's most frequent gold answer. */
  majority: Record<string, number | null>;
  /** Item ids and request hashes (answer_cache.ts requestHash), in order. */
  items: { id: string; hash: string }[];
  /** Checkpoints in report order (insertion order of the keys). */
  checkpoints: Record<string, CheckpointResult>;
  /** The checkpoint every other one is tested against. */
  control: string;
  /** Every other checkpoint against the control. */
  comparisons: PairedComparison[];
  /** Caveats (small n, answers below the majority baseline, …). */
  notes: string[];
}

/** results.json: every suite's scores, merged over runs (a run replaces only its own suites and checkpoints). */
export interface BenchResults {
  /** RESULTS_SCHEMA ("gasp-bench-results/1"). */
  schema: typeof RESULTS_SCHEMA;
  /** ISO time of the last merge. */
  updatedAt: string;
  /** The latest run's config (also in `runs`). */
  config: RunConfig;
  /** Every run that contributed, by id. */
  runs: Record<string, RunConfig>;
  /** One entry per suite. */
  suites: SuiteResult[];
}

/** One checkpoint's fresh scores on a suite. */
export interface FreshEntry {
  checkpoint: string;
  model: ModelInfo | null;
  /** Aligned with the suite's items. */
  perItem: ItemScore[];
  reused: number;
  generated: number;
  seconds: number;
}

/** A suite scored in this run. */
export interface FreshSuite {
  suite: string;
  module: BenchmarkModule;
  items: readonly BenchItem[];
  itemHashes: readonly string[];
  entries: FreshEntry[];
}

const fin = (x: number | undefined): number | null => (x === undefined || !Number.isFinite(x) ? null : x);
const finite = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, fin(v)]));

/** "official" when the suite defines it (finite), else "overall". */
export function headlineMetric(strict: Record<string, number>): string {
  return Number.isFinite(strict.official) ? "official" : "overall";
}

interface EntryScores {
  checkpoint: string;
  model: ModelInfo | null;
  run: string;
  reused: number;
  generated: number;
  seconds: number;
  strict: number[];
  robust: number[];
  modalAnswer?: ModalAnswer | null;
}

function itemScores(items: readonly BenchItem[], e: EntryScores): ItemScore[] {
  return items.map((it, i) => ({
    id: it.id,
    category: it.category,
    strict: e.strict[i],
    robust: e.robust[i],
    parsedStrict: "",
    parsedRobust: "",
  }));
}

const isBinary = (xs: readonly number[]) => xs.every((x) => x === 0 || x === 1);

/** Computes one suite's table from per-item scores: metrics, baselines, intervals, paired tests. */
export function suiteResult(
  suite: string,
  mod: BenchmarkModule,
  items: readonly BenchItem[],
  itemHashes: readonly string[],
  entries: readonly EntryScores[],
  control?: string,
): SuiteResult {
  const n = items.length;
  const aggOf = (idx: readonly number[], scores: readonly ItemScore[]) =>
    mod.aggregate(idx.map((i) => items[i]), idx.map((i) => scores[i])).strict;
  const maj = majorityOutputs(items);
  const majority = mod.aggregate(items, items.map((it) => mod.score(it, maj.get(it.id)!))).strict;
  const scored = entries.map((e) => {
    const scores = itemScores(items, e);
    return { e, scores, agg: mod.aggregate(items, scores) };
  });
  const headline = headlineMetric(scored[0]?.agg.strict ?? majority);
  // Wilson is exact for a proportion: used when the headline is the plain share of right answers.
  const isProportion = (xs: readonly number[], v: number) => isBinary(xs) && Math.abs(mean(xs) - v) < 1e-12;

  const checkpoints: Record<string, CheckpointResult> = {};
  for (const { e, scores, agg } of scored) {
    const metrics: Record<string, MetricValue> = {};
    for (const m of Object.keys(agg.strict)) metrics[m] = { strict: fin(agg.strict[m]), robust: fin(agg.robust[m]) };
    const h = agg.strict[headline];
    let ci95: CheckpointResult["ci95"] = null;
    if (Number.isFinite(h) && n > 0) {
      ci95 = isProportion(e.strict, h)
        ? { ...wilsonInterval(e.strict.reduce((a, b) => a + b, 0), n), method: "wilson" }
        : { ...bootstrapInterval(n, (idx) => aggOf(idx, scores)[headline], BOOTSTRAP), method: "bootstrap" };
    }
    const belowMajority = Object.keys(agg.strict).filter((m) =>
      Number.isFinite(agg.strict[m]) && Number.isFinite(majority[m]) && agg.strict[m] < majority[m] - 1e-12
    );
    checkpoints[e.checkpoint] = {
      model: e.model,
      run: e.run,
      n,
      metrics,
      ci95,
      belowMajority,
      modalAnswer: e.modalAnswer ?? null,
      reused: e.reused,
      generated: e.generated,
      seconds: e.seconds,
      strict: e.strict,
      robust: e.robust,
    };
  }

  const names = entries.map((e) => e.checkpoint);
  const ctrl = control && names.includes(control) ? control : names.includes("sft-general") ? "sft-general" : names[0];
  const comparisons: PairedComparison[] = [];
  const b = scored.find((s) => s.e.checkpoint === ctrl);
  for (const a of scored) {
    if (!b || a === b) continue;
    const diffOf = (idx: readonly number[]) => aggOf(idx, a.scores)[headline] - aggOf(idx, b.scores)[headline];
    const diff = fin(a.agg.strict[headline] - b.agg.strict[headline]);
    const boot = diff === null ? null : pairedBootstrap(n, diffOf, BOOTSTRAP);
    const ci95 = boot && { lo: boot.lo, hi: boot.hi };
    const pair = { a: a.e.checkpoint, b: ctrl, metric: headline, n, diff, ci95 };
    if (isProportion(a.e.strict, a.agg.strict[headline]) && isProportion(b.e.strict, b.agg.strict[headline])) {
      let aOnly = 0, bOnly = 0;
      for (let i = 0; i < n; i++) {
        if (a.e.strict[i] > b.e.strict[i]) aOnly++;
        else if (a.e.strict[i] < b.e.strict[i]) bOnly++;
      }
      comparisons.push({
        ...pair,
        pValue: mcnemarExact(aOnly, bOnly),
        test: "mcnemar-exact",
        discordant: { aOnly, bOnly },
      });
    } else {
      comparisons.push({ ...pair, pValue: boot ? boot.pValue : null, test: "paired-bootstrap" });
    }
  }

  const notes: string[] = [];
  if (n < MIN_REPORT_ITEMS) {
    const half = 100 * (wilsonInterval(n / 2, n).hi - 0.5);
    notes.push(
      `n = ${n} < ${MIN_REPORT_ITEMS} items: a 95 % interval near 50 % spans ±${half.toFixed(1)} points; ` +
        `use at least ${MIN_REPORT_ITEMS} per suite for reported tables (--per-suite ${MIN_REPORT_ITEMS}).`,
    );
  }
  return {
    suite,
    benchmark: mod.name,
    headline,
    n,
    chance: finite(chanceScores(mod, items)),
    majority: finite(majority),
    items: items.map((it, i) => ({ id: it.id, hash: itemHashes[i] })),
    checkpoints,
    control: ctrl,
    comparisons,
    notes,
  };
}

function sameItems(a: readonly { id: string; hash: string }[], ids: readonly BenchItem[], hashes: readonly string[]) {
  return a.length === ids.length && a.every((x, i) => x.id === ids[i].id && x.hash === hashes[i]);
}

/**
 * Merges this run's suites into the previous results (null: none). Entries this run produced replace the same
 * (suite, checkpoint); other checkpoints of a re-run suite are kept when the suite's items are unchanged (and
 * re-tested against the control), dropped with a log line otherwise; suites this run did not touch stay as they were.
 */
export function mergeResults(
  prev: BenchResults | null,
  fresh: readonly FreshSuite[],
  run: RunConfig,
  o: { control?: string; log?: (line: string) => void } = {},
): BenchResults {
  const suites = [...(prev?.suites ?? [])];
  for (const f of fresh) {
    const at = suites.findIndex((s) => s.suite === f.suite);
    const old = at >= 0 ? suites[at] : undefined;
    const freshNames = new Set(f.entries.map((e) => e.checkpoint));
    const entries = new Map<string, EntryScores>();
    if (old) {
      const keep = sameItems(old.items, f.items, f.itemHashes);
      for (const [name, c] of Object.entries(old.checkpoints)) {
        if (freshNames.has(name)) entries.set(name, null as unknown as EntryScores); // keeps its place in the order
        else if (keep) entries.set(name, { checkpoint: name, ...c });
        else o.log?.(`bench: results: dropped ${name} on ${f.suite} (scored on other items or settings; re-run it)`);
      }
    }
    for (const e of f.entries) {
      entries.set(e.checkpoint, {
        checkpoint: e.checkpoint,
        model: e.model,
        run: run.id,
        reused: e.reused,
        generated: e.generated,
        seconds: e.seconds,
        strict: e.perItem.map((s) => s.strict),
        robust: e.perItem.map((s) => s.robust),
        modalAnswer: modalAnswer(e.perItem.map((s) => s.parsedStrict)),
      });
    }
    const table = suiteResult(f.suite, f.module, f.items, f.itemHashes, [...entries.values()], o.control);
    if (at >= 0) suites[at] = table;
    else suites.push(table);
  }
  const runs: Record<string, RunConfig> = { ...(prev?.runs ?? {}), [run.id]: run };
  const used = new Set(suites.flatMap((s) => Object.values(s.checkpoints).map((c) => c.run)));
  for (const id of Object.keys(runs)) if (!used.has(id) && id !== run.id) delete runs[id];
  return { schema: RESULTS_SCHEMA, updatedAt: new Date().toISOString(), config: run, runs, suites };
}

/** Reads `results.json` (null when absent); a file of another format is an error naming it, never overwritten. */
export async function readResults(path: string): Promise<BenchResults | null> {
  const text = await readTextIfExists(path);
  if (text === null) return null;
  let r: Partial<BenchResults>;
  try {
    r = JSON.parse(text);
  } catch (e) {
    throw new DataFormatError(path, "(file)", "a bench results.json", `${(e as Error).message}; move it away`);
  }
  if (r?.schema !== RESULTS_SCHEMA || !Array.isArray(r.suites) || typeof r.runs !== "object") {
    throw new DataFormatError(
      path,
      "schema",
      `"${RESULTS_SCHEMA}"`,
      "another file format: move it away or choose another --out",
    );
  }
  return r as BenchResults;
}

/** The checkpoint names over all suites, in first-seen order. */
export function checkpointNames(r: BenchResults): string[] {
  return [...new Set(r.suites.flatMap((s) => Object.keys(s.checkpoints)))];
}
