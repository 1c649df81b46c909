/**
 * Thin singular value decomposition in f64 by one-sided (Hestenes) Jacobi, used to initialise the correspondence
 * heads from each layer's W_Q (Sec 4.1, App. B).
 *
 * A (m, n) = U (m, k) · diag(S) (k) · Vᵀ (k, n), k = min(m, n), S descending and ≥ 0, UᵀU = VᵀV = I_k.
 *
 * Method: for m ≥ n, rotate pairs of columns of a working copy W = A·V (V starts as I) until every pair is
 * orthogonal; then S_j = ‖W_:j‖ and U_:j = W_:j / S_j. For m < n we decompose Aᵀ and swap U and V. Columns whose
 * singular value is (numerically) zero are completed to an orthonormal set by Gram-Schmidt against the unit basis,
 * so U stays orthonormal for rank-deficient inputs. Signs are fixed so that each column of U has its largest-|·|
 * entry positive, which makes the result (and hence head init) deterministic.
 */
import { type MatF64, transpose, zeros } from "./mat_f64.ts";

export interface SvdResult {
  /** (m, k) left singular vectors as columns. */
  U: MatF64;
  /** (k) singular values, descending. */
  S: Float64Array;
  /** (n, k) right singular vectors as columns. */
  V: MatF64;
  /** Jacobi sweeps used. */
  sweeps: number;
}

export interface SvdOptions {
  /** Stop when every column pair has |cos| below this (default 1e-15 · a few). */
  tol?: number;
  maxSweeps?: number;
}

export function svd(a: MatF64, opts: SvdOptions = {}): SvdResult {
  if (a.rows < a.cols) {
    const r = svd(transpose(a), opts);
    return { U: r.V, S: r.S, V: r.U, sweeps: r.sweeps };
  }
  const tol = opts.tol ?? 1e-15;
  const maxSweeps = opts.maxSweeps ?? 80;
  const m = a.rows;
  const n = a.cols;
  // Column-major working copies so each rotation walks contiguous memory.
  const w: Float64Array[] = [];
  const v: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const col = new Float64Array(m);
    for (let i = 0; i < m; i++) col[i] = a.data[i * n + j];
    w.push(col);
    const e = new Float64Array(n);
    e[j] = 1;
    v.push(e);
  }
  let sweeps = 0;
  for (; sweeps < maxSweeps; sweeps++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const wp = w[p];
        const wq = w[q];
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          alpha += wp[i] * wp[i];
          beta += wq[i] * wq[i];
          gamma += wp[i] * wq[i];
        }
        if (gamma === 0 || Math.abs(gamma) <= tol * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        // Rotation angle that zeroes the (p, q) entry of WᵀW: ζ = (β − α) / 2γ, t = sign(ζ) / (|ζ| + √(1 + ζ²)).
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < m; i++) {
          const x = wp[i];
          const y = wq[i];
          wp[i] = c * x - s * y;
          wq[i] = s * x + c * y;
        }
        const vp = v[p];
        const vq = v[q];
        for (let i = 0; i < n; i++) {
          const x = vp[i];
          const y = vq[i];
          vp[i] = c * x - s * y;
          vq[i] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  // Singular values and descending order.
  const norms = w.map(norm2);
  const order = [...norms.keys()].sort((i, j) => norms[j] - norms[i]);
  const S = new Float64Array(n);
  const uCols: Float64Array[] = [];
  const vCols: Float64Array[] = [];
  const sMax = norms[order[0]] ?? 0;
  const zeroTol = Math.max(m, n) * 2.3e-16 * sMax;
  const deficient: number[] = [];
  order.forEach((j, k) => {
    S[k] = norms[j];
    vCols.push(v[j]);
    if (norms[j] > zeroTol && norms[j] > 0) {
      uCols.push(w[j].map((x) => x / norms[j]));
    } else {
      S[k] = norms[j] > zeroTol ? norms[j] : 0;
      uCols.push(new Float64Array(m));
      deficient.push(k);
    }
  });
  completeOrthonormal(uCols, deficient, m);
  // Deterministic signs: largest-magnitude entry of each U column positive (flip V's column with it).
  for (let k = 0; k < n; k++) {
    const u = uCols[k];
    let best = 0;
    for (let i = 1; i < m; i++) if (Math.abs(u[i]) > Math.abs(u[best])) best = i;
    if (u[best] < 0) {
      for (let i = 0; i < m; i++) u[i] = -u[i];
      const vc = vCols[k];
      for (let i = 0; i < n; i++) vc[i] = -vc[i];
    }
  }
  const U = zeros(m, n);
  const V = zeros(n, n);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < m; i++) U.data[i * n + k] = uCols[k][i];
    for (let i = 0; i < n; i++) V.data[i * n + k] = vCols[k][i];
  }
  return { U, S, V, sweeps };
}

/** Fills the listed (zero) columns with unit vectors orthogonal to all the others (modified Gram-Schmidt, twice). */
function completeOrthonormal(cols: Float64Array[], missing: number[], m: number): void {
  let basis = 0;
  for (const k of missing) {
    for (; basis < m; basis++) {
      const cand = new Float64Array(m);
      cand[basis] = 1;
      for (let pass = 0; pass < 2; pass++) {
        for (let j = 0; j < cols.length; j++) {
          if (j === k) continue; // not-yet-filled columns are zero and project to nothing
          const c = cols[j];
          let d = 0;
          for (let i = 0; i < m; i++) d += c[i] * cand[i];
          for (let i = 0; i < m; i++) cand[i] -= d * c[i];
        }
      }
      const nrm = norm2(cand);
      if (nrm > 1e-8) {
        for (let i = 0; i < m; i++) cols[k][i] = cand[i] / nrm;
        basis++;
        break;
      }
    }
  }
}

/** Reconstructs U · diag(S) · Vᵀ (for tests and for truncations U_k Σ_k V_kᵀ when k is given). */
export function reconstruct(r: SvdResult, k = r.S.length): MatF64 {
  const m = r.U.rows;
  const n = r.V.rows;
  const kk = r.S.length;
  const out = zeros(m, n);
  for (let t = 0; t < k; t++) {
    const s = r.S[t];
    if (s === 0) continue;
    for (let i = 0; i < m; i++) {
      const us = r.U.data[i * kk + t] * s;
      if (us === 0) continue;
      for (let j = 0; j < n; j++) out.data[i * n + j] += us * r.V.data[j * kk + t];
    }
  }
  return out;
}

function norm2(x: Float64Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s);
}
