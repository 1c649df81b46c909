/**
 * The spread and significance of a benchmark score: Wilson intervals for accuracies, percentile bootstrap intervals
 * for every other metric (MRA, means over categories), and paired tests between two checkpoints scored on the same
 * items: McNemar's exact test for right/wrong items, a paired bootstrap otherwise. Every resampling takes a seed.
 *
 * Why these: a suite of n items gives an accuracy whose 95 % interval is about ±1/√n (±5.7 points at n = 300), so a
 * gap between two checkpoints means little without it; and two checkpoints answer the *same* items, so a paired test
 * (which looks only at the items where they disagree) is far more sensitive than comparing two intervals.
 */
import { Rng } from "../../core/random.ts";

/** z for a two-sided 95 % interval (Φ⁻¹(0.975)). */
export const Z95 = 1.959963984540054;

export interface Interval {
  lo: number;
  hi: number;
}

/**
 * Wilson score interval for k successes in n trials (Wilson 1927): centre (p̂ + z²/2n)/(1 + z²/n), half-width
 * z·√(p̂(1−p̂)/n + z²/4n²)/(1 + z²/n). Unlike p̂ ± z·√(p̂(1−p̂)/n) it stays inside [0, 1] and is not zero-width at 0 or n.
 */
export function wilsonInterval(k: number, n: number, z = Z95): Interval {
  if (n <= 0) return { lo: NaN, hi: NaN };
  const p = k / n, z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

/** log C(n, k) by summing logs (exact enough for n up to millions; no gamma function needed). */
function logChoose(n: number, k: number): number {
  k = Math.min(k, n - k);
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/**
 * McNemar's exact test (two-sided) on the discordant pairs: `b` items only the first checkpoint got right, `c` only
 * the second. Under H0 each discordant item is a fair coin, so p = min(1, 2·P(Binom(b + c, ½) ≤ min(b, c))).
 */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const m = Math.min(b, c);
  let tail = 0;
  for (let k = 0; k <= m; k++) tail += Math.exp(logChoose(n, k) - n * Math.LN2);
  return Math.min(1, 2 * tail);
}

/** The q-quantile of sorted values, linear between order statistics (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const i = Math.floor(pos), f = pos - i;
  return i + 1 < sorted.length ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i];
}

/** Draws of `statistic` on n items resampled with replacement (item indices passed in). */
export function bootstrapDraws(
  n: number,
  statistic: (indices: readonly number[]) => number,
  o: { draws?: number; seed?: number } = {},
): number[] {
  const rng = new Rng(o.seed ?? 0);
  const out: number[] = [];
  const idx = new Array<number>(n);
  for (let b = 0; b < (o.draws ?? 2000); b++) {
    for (let i = 0; i < n; i++) idx[i] = rng.int(n);
    const v = statistic(idx);
    if (Number.isFinite(v)) out.push(v);
  }
  return out.sort((a, b) => a - b);
}

/** Percentile bootstrap 95 % interval of `statistic` over n items. */
export function bootstrapInterval(
  n: number,
  statistic: (indices: readonly number[]) => number,
  o: { draws?: number; seed?: number } = {},
): Interval {
  const d = bootstrapDraws(n, statistic, o);
  return { lo: quantile(d, 0.025), hi: quantile(d, 0.975) };
}

/**
 * Paired bootstrap of a difference `statistic` (e.g. score(A) − score(B) on the same resampled items): its 95 %
 * interval and a two-sided p-value, p = min(1, 2·min(#{d* ≤ 0} + 1, #{d* ≥ 0} + 1)/(B + 1)) (how often the
 * resampled difference lands on the other side of zero).
 */
export function pairedBootstrap(
  n: number,
  difference: (indices: readonly number[]) => number,
  o: { draws?: number; seed?: number } = {},
): Interval & { pValue: number } {
  const d = bootstrapDraws(n, difference, o);
  const le = d.filter((x) => x <= 0).length, ge = d.filter((x) => x >= 0).length;
  const pValue = Math.min(1, (2 * (Math.min(le, ge) + 1)) / (d.length + 1));
  return { lo: quantile(d, 0.025), hi: quantile(d, 0.975), pValue };
}
