/**
 * Dense f64 algebra for the plain-TypeScript references in train/reference/ (head, LoRA, losses) on train/mat_f64.ts
 * matrices: row-major, HF weight layout [out, in] for linear layers. Not fast; correct and readable.
 */
import { ShapeMismatchError } from "../../core/errors.ts";
import { mulAOrAt } from "../../core/linalg/dense_f64.ts";
import type { Rng } from "../../core/random.ts";
import { type MatF64, zeros } from "../mat_f64.ts";

export function fromRows(rows: number[][]): MatF64 {
  const r = rows.length;
  const c = r === 0 ? 0 : rows[0].length;
  const m = zeros(r, c);
  rows.forEach((row, i) => {
    if (row.length !== c) throw new ShapeMismatchError("fromRows", `row ${i} has ${row.length} values, expected ${c}`);
    m.data.set(row, i * c);
  });
  return m;
}

/** Entries drawn from N(0, std²) with a seeded generator. */
export function randomNormal(rows: number, cols: number, rng: Rng, std = 1): MatF64 {
  const m = zeros(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = std * rng.normal();
  return m;
}

/** C = A · B. (m, k) · (k, n) → (m, n). */
export function matmul(a: MatF64, b: MatF64): MatF64 {
  if (a.cols !== b.rows) throw new ShapeMismatchError("matmul", `(${a.rows}, ${a.cols}) · (${b.rows}, ${b.cols})`);
  return { rows: a.rows, cols: b.cols, data: mulAOrAt(a.data, a.rows, a.cols, b.data, b.cols, false) };
}

/** C = A · Bᵀ, the linear-layer product x Wᵀ with W in HF layout [out, in]. (m, k) · (n, k)ᵀ → (m, n). */
export function matmulTransB(a: MatF64, b: MatF64): MatF64 {
  if (a.cols !== b.cols) {
    throw new ShapeMismatchError("matmulTransB", `(${a.rows}, ${a.cols}) · (${b.rows}, ${b.cols})ᵀ`);
  }
  const c = zeros(a.rows, b.rows);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.rows; j++) {
      let s = 0;
      const ao = i * a.cols;
      const bo = j * b.cols;
      for (let k = 0; k < a.cols; k++) s += a.data[ao + k] * b.data[bo + k];
      c.data[i * b.rows + j] = s;
    }
  }
  return c;
}

/** C = Aᵀ · B. (k, m)ᵀ · (k, n) → (m, n); the weight-gradient product dyᵀ x. */
export function matmulTransA(a: MatF64, b: MatF64): MatF64 {
  if (a.rows !== b.rows) {
    throw new ShapeMismatchError("matmulTransA", `(${a.rows}, ${a.cols})ᵀ · (${b.rows}, ${b.cols})`);
  }
  return { rows: a.cols, cols: b.cols, data: mulAOrAt(a.data, a.rows, a.cols, b.data, b.cols, true) };
}

/** Adds a bias row vector to every row, in place. */
export function addRowVector(a: MatF64, v: Float64Array): MatF64 {
  if (v.length !== a.cols) throw new ShapeMismatchError("addRowVector", `bias ${v.length} vs cols ${a.cols}`);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) a.data[i * a.cols + j] += v[j];
  return a;
}

/** Column sums: the bias gradient of a linear layer. (m, n) → (n). */
export function sumRows(a: MatF64): Float64Array {
  const s = new Float64Array(a.cols);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) s[j] += a.data[i * a.cols + j];
  return s;
}

/** Largest absolute elementwise difference; throws if shapes differ. */
export function maxAbsDiff(a: MatF64, b: MatF64): number {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new ShapeMismatchError("maxAbsDiff", `(${a.rows}, ${a.cols}) vs (${b.rows}, ${b.cols})`);
  }
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}
