/**
 * Host-side f64 matrices for the correspondence heads' SVD initialisation (train/svd.ts, train/correspondence_head.ts):
 * row-major, HF weight layout [out, in] for linear layers. The f64 references build their dense algebra on the same
 * type (train/reference/dense.ts).
 */

/** A row-major f64 matrix: data[r * cols + c]. */
export interface MatF64 {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function zeros(rows: number, cols: number): MatF64 {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

export function transpose(a: MatF64): MatF64 {
  const t = zeros(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) t.data[j * a.rows + i] = a.data[i * a.cols + j];
  return t;
}
