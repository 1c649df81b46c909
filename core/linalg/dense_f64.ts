/** The one f64 dense product loop, for the randomized SVD and the plain-TypeScript references. */

/**
 * A · B or Aᵀ · B for row-major A (m, n), walking A's rows once either way and skipping its zeros; the inner loop
 * runs along contiguous rows of B and the result. A · B takes B (n, l) → (m, l); Aᵀ · B takes B (m, l) → (n, l).
 * Every output element sums its terms in ascending order of the shared index.
 */
export function mulAOrAt(
  A: ArrayLike<number>,
  m: number,
  n: number,
  B: ArrayLike<number>,
  l: number,
  transA: boolean,
): Float64Array {
  const C = new Float64Array((transA ? n : m) * l);
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < n; c++) {
      const x = A[i * n + c];
      if (x === 0) continue;
      const co = (transA ? c : i) * l;
      const bo = (transA ? i : c) * l;
      for (let j = 0; j < l; j++) C[co + j] += x * B[bo + j];
    }
  }
  return C;
}
