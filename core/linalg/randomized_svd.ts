/**
 * Truncated SVD by randomized range finding (Halko, Martinsson & Tropp 2011, Alg. 4.4 + 5.1), for the correspondence
 * heads' init from W_Q (Sec 4.1, App. B), which needs only the top-k singular triplets. The full f64 Jacobi SVD
 * (train/svd.ts) is the reference it is tested against. Measured with `deno task bench:svd` on this 2-core machine
 * (shared): 512² with k = 128 in 0.4 s (Jacobi 1.5 s), 2048² with k = 512 in ~13-19 s, where Jacobi takes minutes;
 * the time is the plain-TypeScript products (~1.2 G multiply-adds/s). With `gemm` (the WASM SIMD GEMM, f32) they
 * move to the device; the f64 Gram-Schmidt and eigensolver remain.
 *
 * Dimension letters: A (m, n) with m ≥ n (a wide A is decomposed as Aᵀ), k singular triplets wanted, l = k + p
 * columns sampled (p oversampling), q power iterations.
 *
 *   1. Ω (n, l) ~ N(0, 1) from the seed;  Y = A Ω (m, l);  Q = orth(Y)
 *   2. q times: Z = orth(Aᵀ Q) (n, l);  Q = orth(A Z)      — sharpens the spectrum as σ^(2q+1)
 *   3. M = Aᵀ Q = Bᵀ (n, l) with B = Qᵀ A (l, n), so A ≈ Q B
 *   4. G = B Bᵀ = Mᵀ M (l, l) = W diag(λ) Wᵀ (symmetric eigen, λ descending)
 *   5. U = Q W_k (m, k);  v_j = M w_j (n);  σ_j = ‖v_j‖;  V_j = v_j / σ_j
 *
 * σ_j is taken as ‖M w_j‖ rather than √λ_j: the norm is accurate to ~ε·σ_1 absolute where √λ loses half the digits
 * of small values. Step 5 makes Σ_k V_kᵀ = U_kᵀ A hold to rounding for ANY orthonormal U_k, so the head init's
 * identity H_c(x) = U_k U_kᵀ (W_Q x + b_Q) stays exact even where the sampled subspace is only approximately the
 * top-k one (a flat spectrum). Directions with σ ≈ 0 get V completed to an orthonormal set.
 * Signs are fixed like the Jacobi reference's: the largest-|·| entry of each U column is positive.
 */
import { mulAOrAt } from "./dense_f64.ts";
import { ShapeMismatchError } from "../errors.ts";
import { Rng } from "../random.ts";
import { symmetricEigen } from "./symmetric_eigen.ts";
import type { Gemm } from "./gemm.ts";

/** A row-major dense matrix: data[r * cols + c]. (train's MatF64 has the same shape.) */
export interface DenseMatrix {
  rows: number;
  cols: number;
  data: Float64Array | Float32Array;
}

export interface TruncatedSvd {
  /** (m, k) row-major, orthonormal columns. */
  U: { rows: number; cols: number; data: Float64Array };
  /** (k) singular values, descending. */
  S: Float64Array;
  /** (n, k) row-major, orthonormal columns. */
  V: { rows: number; cols: number; data: Float64Array };
}

export interface RandomizedSvdOptions {
  /** k: singular triplets wanted (at most min(m, n)). */
  rank: number;
  /** p: extra sampled columns; 10 is Halko et al.'s default (failure probability ~ 6·p^-p). */
  oversample?: number;
  /** q: power iterations; 2 gives near-Jacobi subspaces on the decaying spectra of trained projections. */
  powerIterations?: number;
  /** Seed of the Gaussian test matrix Ω: the result is a deterministic function of (A, options). */
  seed?: number;
  /**
   * Products on a device GEMM (core/linalg/gemm.ts: f32, the WASM SIMD kernel) instead of the f64 loops: the six
   * A-sized products, the Gram matrix and the final rotations; the orthonormalisations and the eigenproblem stay f64.
   * Accuracy is then f32's (~1e-7 relative), what an f32 head init stores anyway.
   */
  gemm?: Gemm;
}

export function randomizedSvd(a: DenseMatrix, opts: RandomizedSvdOptions): TruncatedSvd {
  const { rows: m, cols: n } = a;
  if (a.data.length !== m * n) {
    throw new ShapeMismatchError("randomizedSvd", `${a.data.length} values for a (${m}, ${n}) matrix`);
  }
  const k = opts.rank;
  if (!(Number.isInteger(k) && k >= 1 && k <= Math.min(m, n))) {
    throw new ShapeMismatchError("randomizedSvd", `rank must be an integer in [1, min(m, n) = ${Math.min(m, n)}]`);
  }
  if (m < n) {
    const r = randomizedSvd({ rows: n, cols: m, data: transpose(a.data, m, n) }, opts);
    // Aᵀ = U S Vᵀ  ⇒  A = V S Uᵀ; re-fix signs on A's U (= Aᵀ's V).
    const out = { U: r.V, S: r.S, V: r.U };
    fixSigns(out.U.data, out.V.data, m, n, k);
    return out;
  }
  const l = Math.min(k + (opts.oversample ?? 10), n);
  const q = opts.powerIterations ?? 2;
  const rng = new Rng(opts.seed ?? 0);
  const A = a.data;

  const g = opts.gemm;
  // A·X (m, l) and Aᵀ·Y (n, l), on the device GEMM when one is given
  const aTimes = (x: Float64Array) => g ? g(A, [m, n], x, [n, l]) : mulAOrAt(A, m, n, x, l, false);
  const aTTimes = (y: Float64Array) => g ? g(A, [m, n], y, [m, l], { transA: true }) : mulAOrAt(A, m, n, y, l, true);

  const omega = new Float64Array(n * l); // (n, l)
  for (let i = 0; i < omega.length; i++) omega[i] = rng.normal();
  let Q = orthonormalize(aTimes(omega), m, l, rng, 1); // (m, l)
  for (let it = 0; it < q; it++) {
    const Z = orthonormalize(aTTimes(Q), n, l, rng, 1); // (n, l)
    Q = orthonormalize(aTimes(Z), m, l, rng, it === q - 1 ? 2 : 1); // (m, l)
  }
  if (q === 0) Q = orthonormalize(Q, m, l, rng, 2);
  const M = aTTimes(Q); // (n, l) = Bᵀ
  const G = g ? g(M, [n, l], M, [n, l], { transA: true }) : gram(M, n, l); // (l, l)
  const { values, vectors: W } = symmetricEigen(G, l); // ascending
  // M·W (n, l) and Q·W (m, l): column j is M w_j and Q w_j
  const MW = g ? g(M, [n, l], W, [l, l]) : null, QW = g ? g(Q, [m, l], W, [l, l]) : null;

  // Candidate triplets in descending λ order; σ from ‖M w‖, then sorted by σ (rounding can swap near-ties).
  const cand = Array.from({ length: l }, (_, t) => {
    const j = l - 1 - t;
    const v = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      if (MW) {
        v[r] = MW[r * l + j];
        continue;
      }
      let s = 0;
      const row = r * l;
      for (let c = 0; c < l; c++) s += M[row + c] * W[c * l + j];
      v[r] = s;
    }
    return { j, v, sigma: Math.sqrt(dot(v, v)), lambda: values[j] };
  }).sort((x, y) => y.sigma - x.sigma).slice(0, k);

  const U = new Float64Array(m * k);
  const V = new Float64Array(n * k);
  const S = new Float64Array(k);
  const sMax = cand[0].sigma;
  const zeroTol = Math.max(m, n) * 2.3e-16 * sMax;
  const vCols: Float64Array[] = [];
  for (let t = 0; t < k; t++) {
    const { j, v, sigma } = cand[t];
    // U column t = Q w_j.
    for (let r = 0; r < m; r++) {
      if (QW) {
        U[r * k + t] = QW[r * l + j];
        continue;
      }
      let s = 0;
      const row = r * l;
      for (let c = 0; c < l; c++) s += Q[row + c] * W[c * l + j];
      U[r * k + t] = s;
    }
    if (sigma > zeroTol && sigma > 0) {
      S[t] = sigma;
      for (let r = 0; r < n; r++) v[r] /= sigma;
      vCols.push(v);
    } else {
      S[t] = 0;
      vCols.push(completeDirection(vCols, n, rng));
    }
  }
  for (let t = 0; t < k; t++) for (let r = 0; r < n; r++) V[r * k + t] = vCols[t][r];
  fixSigns(U, V, m, n, k);
  return { U: { rows: m, cols: k, data: U }, S, V: { rows: n, cols: k, data: V } };
}

/** Mᵀ M (l, l) for M (n, l) row-major, using symmetry. */
function gram(M: Float64Array, n: number, l: number): Float64Array {
  const G = new Float64Array(l * l);
  for (let r = 0; r < n; r++) {
    const row = r * l;
    for (let a = 0; a < l; a++) {
      const x = M[row + a];
      if (x === 0) continue;
      const ga = a * l;
      for (let b = a; b < l; b++) G[ga + b] += x * M[row + b];
    }
  }
  for (let a = 0; a < l; a++) for (let b = 0; b < a; b++) G[a * l + b] = G[b * l + a];
  return G;
}

/**
 * Orthonormal columns spanning Y's (m, l) column space, by modified Gram-Schmidt (`passes` = 2 re-orthogonalises to
 * machine precision). A column that vanishes (rank deficiency) is replaced by a random direction orthogonal to the
 * rest, so the result always has l orthonormal columns.
 */
function orthonormalize(Y: Float64Array, m: number, l: number, rng: Rng, passes: number): Float64Array {
  const cols: Float64Array[] = [];
  for (let j = 0; j < l; j++) {
    const c = new Float64Array(m);
    for (let i = 0; i < m; i++) c[i] = Y[i * l + j];
    cols.push(c);
  }
  for (let j = 0; j < l; j++) {
    const c = cols[j];
    const before = Math.sqrt(dot(c, c));
    for (let pass = 0; pass < passes; pass++) project(c, cols, j);
    const after = Math.sqrt(dot(c, c));
    if (after > 1e-10 * before && after > 0) {
      for (let i = 0; i < m; i++) c[i] /= after;
    } else {
      cols[j] = completeDirection(cols.slice(0, j), m, rng);
    }
  }
  const Q = new Float64Array(m * l);
  for (let j = 0; j < l; j++) for (let i = 0; i < m; i++) Q[i * l + j] = cols[j][i];
  return Q;
}

/** Removes from c its components along the first `count` (orthonormal) columns. */
function project(c: Float64Array, cols: Float64Array[], count: number): void {
  for (let p = 0; p < count; p++) {
    const b = cols[p];
    const d = dot(b, c);
    for (let i = 0; i < c.length; i++) c[i] -= d * b[i];
  }
}

/** A unit vector orthogonal to every given (orthonormal) vector, from random draws. */
function completeDirection(others: Float64Array[], m: number, rng: Rng): Float64Array {
  for (let attempt = 0; attempt < 16; attempt++) {
    const c = new Float64Array(m);
    for (let i = 0; i < m; i++) c[i] = rng.normal();
    project(c, others, others.length);
    project(c, others, others.length);
    const nrm = Math.sqrt(dot(c, c));
    if (nrm > 1e-6) {
      for (let i = 0; i < m; i++) c[i] /= nrm;
      return c;
    }
  }
  throw new ShapeMismatchError("randomizedSvd", `cannot complete ${others.length + 1} orthonormal vectors in R^${m}`);
}

/** Largest-|·| entry of each U column positive; V's column flips with it. */
function fixSigns(U: Float64Array, V: Float64Array, m: number, n: number, k: number): void {
  for (let t = 0; t < k; t++) {
    let best = 0;
    for (let r = 1; r < m; r++) if (Math.abs(U[r * k + t]) > Math.abs(U[best * k + t])) best = r;
    if (U[best * k + t] >= 0) continue;
    for (let r = 0; r < m; r++) U[r * k + t] = -U[r * k + t];
    for (let r = 0; r < n; r++) V[r * k + t] = -V[r * k + t];
  }
}

function transpose(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c];
  return t;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
