/** Small descriptive statistics over sequences. NaN entries are skipped (a sequence that could not be scored). */

/** Mean of the finite entries; NaN when there are none. */
export function meanOf(xs: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < xs.length; i++) {
    if (Number.isNaN(xs[i])) continue;
    s += xs[i];
    n++;
  }
  return n === 0 ? NaN : s / n;
}

/** Population standard deviation (ddof = 0, like numpy's np.std) of the non-NaN entries; NaN when there are none. */
export function stdOf(xs: ArrayLike<number>): number {
  const { ss, n } = squaredDeviations(xs);
  return n === 0 ? NaN : Math.sqrt(ss / n);
}

/** Standard error of the mean: sample std (ddof = 1) / √n over the non-NaN entries; NaN when n < 2. */
export function standardErrorOf(xs: ArrayLike<number>): number {
  const { ss, n } = squaredDeviations(xs);
  return n < 2 ? NaN : Math.sqrt(ss / (n - 1)) / Math.sqrt(n);
}

/** Σ (x − mean)² and the count over the non-NaN entries. */
function squaredDeviations(xs: ArrayLike<number>): { ss: number; n: number } {
  const m = meanOf(xs);
  let ss = 0;
  let n = 0;
  for (let i = 0; i < xs.length; i++) {
    if (Number.isNaN(xs[i])) continue;
    ss += (xs[i] - m) ** 2;
    n++;
  }
  return { ss, n };
}
