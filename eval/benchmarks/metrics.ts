/**
 * Benchmark metrics: accuracy, VSI-Bench's Mean Relative Accuracy, and per-group means.
 *
 * MRA follows lmms-eval `tasks/vsibench/utils.py` `mean_relative_accuracy(pred, target, .5, .95, .05)`:
 * `num_pts = (end - start) / interval + 2` is 10.999999999999998 in float, so `int()` gives 10 points,
 * `linspace(.5, .95, 10)` = {0.50, 0.55, …, 0.95}; score = mean(|pred − target| / target <= 1 − θ). The comparison is
 * `<=` (the paper's formula writes `<`). The thresholds are written out as 0.5 + 0.05·i, i = 0..9, rather than
 * accumulated by float steps.
 */
import type { SuiteScores } from "./types.ts";

export const MRA_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, i) => 0.5 + 0.05 * i);

/** Mean Relative Accuracy of one numeric prediction; 0 when either side is missing or not finite (lmms-eval's
 * WORST_CASE for a failed `float()`), and 0 for a zero target (lmms-eval would raise ZeroDivisionError). */
export function meanRelativeAccuracy(pred: number | null, target: number | null): number {
  if (pred === null || target === null || !Number.isFinite(pred) || !Number.isFinite(target) || target === 0) return 0;
  const rel = Math.abs(pred - target) / target;
  let hits = 0;
  for (const theta of MRA_THRESHOLDS) if (rel <= 1 - theta) hits++;
  return hits / MRA_THRESHOLDS.length;
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * A suite's scores from its metric table under each extraction (`metrics(k)` scores every item under k); strict
 * is primary, so the headline numbers compare with the papers'.
 */
export function suiteScores(
  suite: string,
  n: number,
  metrics: (k: "strict" | "robust") => Record<string, number>,
): Omit<SuiteScores, "majorityBaseline"> {
  return { suite, n, strict: metrics("strict"), robust: metrics("robust"), primary: "strict" };
}

/** Copies per-group means into `out` in sorted key order (report order), each key behind `prefix`. */
export function putSorted(out: Record<string, number>, groups: ReadonlyMap<string, number>, prefix = ""): void {
  for (const k of [...groups.keys()].sort()) out[prefix + k] = groups.get(k)!;
}

/** Mean of `value(x)` per `key(x)`, keys in first-seen order. */
export function groupMeans<T>(xs: readonly T[], key: (x: T) => string, value: (x: T) => number): Map<string, number> {
  const sums = new Map<string, [number, number]>();
  for (const x of xs) {
    const k = key(x);
    const s = sums.get(k) ?? [0, 0];
    s[0] += value(x);
    s[1] += 1;
    sums.set(k, s);
  }
  return new Map([...sums].map(([k, [s, n]]) => [k, s / n]));
}

/** The most frequent value (ties broken by first occurrence). */
export function mostFrequent(xs: readonly string[]): string {
  const counts = new Map<string, number>();
  let best = "";
  let bestN = 0;
  for (const x of xs) {
    const n = (counts.get(x) ?? 0) + 1;
    counts.set(x, n);
    if (n > bestN) {
      best = x;
      bestN = n;
    }
  }
  return best;
}
