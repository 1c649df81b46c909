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
  const m = meanOf(xs);
  if (Number.isNaN(m)) return NaN;
  let s = 0;
  let n = 0;
  for (let i = 0; i < xs.length; i++) {
    if (Number.isNaN(xs[i])) continue;
    s += (xs[i] - m) ** 2;
    n++;
  }
  return Math.sqrt(s / n);
}

/** Standard error of the mean: sample std (ddof = 1) / √n over the non-NaN entries; NaN when n < 2. */
export function standardErrorOf(xs: ArrayLike<number>): number {
  const m = meanOf(xs);
  let s = 0;
  let n = 0;
  for (let i = 0; i < xs.length; i++) {
    if (Number.isNaN(xs[i])) continue;
    s += (xs[i] - m) ** 2;
    n++;
  }
  return n < 2 ? NaN : Math.sqrt(s / (n - 1)) / Math.sqrt(n);
}
