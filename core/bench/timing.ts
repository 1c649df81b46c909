/** Timing helpers shared by the benchmarks: warm-up, then the median of timed runs. */
export interface Timing {
  /** Median sample time divided by `repeat`: milliseconds per op call. */
  ms: number;
  runs: number;
  /** Op calls per timed sample (one completion wait per sample). */
  repeat: number;
}

/**
 * `fn(repeat)` must issue the op `repeat` times back to back and wait for completion once; it is called `warmup`
 * times untimed, then `runs` times timed. The reported ms is the median sample time / `repeat`, so a fixed per-sample
 * cost (a GPU submit + completion round trip, ~12 ms through Deno WebGPU/Vulkan on an H100) is amortised over
 * `repeat` calls instead of dominating every op.
 */
export async function timeMedian(
  fn: (repeat: number) => Promise<void>,
  opts: { warmup: number; runs: number; repeat?: number },
): Promise<Timing> {
  const repeat = opts.repeat ?? 1;
  checkRepeat(repeat);
  for (let i = 0; i < opts.warmup; i++) await fn(repeat);
  const times: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    const t0 = performance.now();
    await fn(repeat);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)] / repeat, runs: opts.runs, repeat };
}

/** Throws unless `n` is a positive integer (the `--repeat` count). */
export function checkRepeat(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--repeat must be a positive integer (got ${n})`);
}
