/**
 * Run logging: metrics.jsonl (one JSON object per line: first the resolved config, then one record per optimizer
 * step with each loss term, grad norm, lr and time) and the one-line progress display of `deno task train`.
 * Appends are one write per line, so a crash leaves at most one partial last line, which readMetrics skips.
 */
import { IoError } from "../core/errors.ts";
import { withPath, writeFileAtomic } from "../core/io/atomic.ts";

export interface LossParts {
  total: number;
  lm: number;
  corr: number;
  depth: number;
}

export interface StepMetrics {
  /** Optimizer steps completed (1-based: the first record has step 1). */
  step: number;
  loss: LossParts;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Scheduled base (LoRA) learning rate used for this step; heads used lr · headLrMultiplier. */
  lr: number;
  /** Tokens (text + visual) processed in this step. */
  tokens: number;
  /** Wall-clock seconds of this step. */
  stepTimeS: number;
  /** Seconds since the run (or the resumed process) started. */
  elapsedS: number;
}

export type MetricsRecord =
  | { type: "config"; time: string; config: unknown }
  | ({ type: "step"; time: string } & StepMetrics);

async function appendLine(path: string, obj: unknown): Promise<void> {
  await withPath(
    path,
    "append to",
    () => Deno.writeTextFile(path, JSON.stringify(obj) + "\n", { append: true, create: true }),
  );
}

/** First line of a run's metrics.jsonl (written again on resume, so each process's settings are on record). */
export async function appendConfigRecord(path: string, config: unknown): Promise<void> {
  await appendLine(path, { type: "config", time: new Date().toISOString(), config });
}

export async function appendStepMetrics(path: string, m: StepMetrics): Promise<void> {
  await appendLine(path, { type: "step", time: new Date().toISOString(), ...m });
}

/** All complete records; a torn last line (crash mid-append) is dropped, a torn line elsewhere is an error. */
export async function readMetrics(path: string): Promise<MetricsRecord[]> {
  const text = await Deno.readTextFile(path);
  const lines = text.split("\n");
  const out: MetricsRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      out.push(JSON.parse(line));
    } catch (e) {
      const isLast = lines.slice(i + 1).every((l) => l.trim() === "");
      if (!isLast) throw new Error(`${path}: line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
  });
  return out;
}

/**
 * The records a run resumed at `step` keeps: everything up to the last record of a step ≤ `step` (the config
 * records of earlier processes included), none after it; lines that are not JSON (a torn append) are dropped.
 * At step 0 nothing is kept.
 */
function keptUpTo(text: string, step: number): { kept: string[]; dropped: number } {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const recs = lines.map((l) => {
    try {
      return JSON.parse(l) as MetricsRecord;
    } catch {
      return null;
    }
  });
  let end = 0;
  recs.forEach((r, i) => {
    if (r?.type === "step" && r.step <= step) end = i + 1;
  });
  const kept = lines.slice(0, end).filter((_, i) =>
    recs[i] !== null && (recs[i]!.type !== "step" || (recs[i] as StepMetrics).step <= step)
  );
  return { kept, dropped: lines.length - kept.length };
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new IoError(path, "read", e);
  }
}

/**
 * On resume from a checkpoint at `step`, drops the records after it (a process that died before their checkpoint
 * logged them; they will be recomputed) and any torn line, rewriting the file atomically, so metrics.jsonl of a
 * resumed run holds each step once, as an uninterrupted run's does. Returns how many lines were dropped.
 */
export async function truncateMetricsAfter(path: string, step: number): Promise<number> {
  const text = await readIfExists(path);
  if (text === null) return 0;
  const { kept, dropped } = keptUpTo(text, step);
  if (dropped > 0) await writeFileAtomic(path, kept.map((l) => l + "\n").join(""));
  return dropped;
}

/** Writes the records of `from` up to `step` (see truncateMetricsAfter) to `to`; returns the step records copied. */
export async function copyMetricsUpTo(from: string, to: string, step: number): Promise<number> {
  const { kept } = keptUpTo((await readIfExists(from)) ?? "", step);
  await writeFileAtomic(to, kept.map((l) => l + "\n").join(""));
  return kept.filter((l) => JSON.parse(l).type === "step").length;
}

/** "45s", "12m04s", "1h02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** "950", "1.2k", "3.4M" tokens per second. */
export function formatRate(perS: number): string {
  if (perS >= 1e6) return `${(perS / 1e6).toFixed(1)}M`;
  if (perS >= 1e3) return `${(perS / 1e3).toFixed(1)}k`;
  return perS.toFixed(0);
}

export interface ProgressInput {
  step: number;
  totalSteps: number;
  loss: LossParts;
  lr: number;
  /** Tokens processed by this process so far and its elapsed seconds (throughput and ETA exclude resumed steps). */
  tokensSinceStart: number;
  stepsSinceStart: number;
  elapsedS: number;
}

/** step 120/400 | loss 2.3140 (lm 1.9020 corr 0.8110 depth 0.1690) | lr 3.00e-4 | 1.2k tok/s | ETA 4m40s */
export function formatProgressLine(p: ProgressInput): string {
  const w = String(p.totalSteps).length;
  const l = p.loss;
  const tokPerS = p.elapsedS > 0 ? p.tokensSinceStart / p.elapsedS : 0;
  const eta = p.stepsSinceStart > 0 ? (p.elapsedS / p.stepsSinceStart) * (p.totalSteps - p.step) : NaN;
  return [
    `step ${String(p.step).padStart(w)}/${p.totalSteps}`,
    `loss ${l.total.toFixed(4)} (lm ${l.lm.toFixed(4)} corr ${l.corr.toFixed(4)} depth ${l.depth.toFixed(4)})`,
    `lr ${p.lr.toExponential(2)}`,
    `${formatRate(tokPerS)} tok/s`,
    `ETA ${formatDuration(eta)}`,
  ].join(" | ");
}
