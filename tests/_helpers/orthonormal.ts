/** Checks shared by the SVD tests. */
import type { MatF64 } from "../../train/mat_f64.ts";
import { matmulTransA } from "../../train/reference/dense.ts";

/** max |QᵀQ − I|: 0 for orthonormal columns. */
export function orthonormalityError(q: MatF64): number {
  const g = matmulTransA(q, q);
  let e = 0;
  for (let i = 0; i < g.rows; i++) {
    for (let j = 0; j < g.cols; j++) e = Math.max(e, Math.abs(g.data[i * g.cols + j] - (i === j ? 1 : 0)));
  }
  return e;
}
