/** Timing helpers shared by the benchmarks: warm-up, then the median of timed runs. */
export interface Timing {
  ms: number;
  runs: number;
}

export async function timeMedian(fn: () => Promise<void>, opts: { warmup: number; runs: number }): Promise<Timing> {
  for (let i = 0; i < opts.warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], runs: opts.runs };
}
