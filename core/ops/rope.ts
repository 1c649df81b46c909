/**
 * Rotary position embedding with Hugging Face Qwen2 / Qwen2.5-VL semantics ("rotate_half": dimension j pairs with
 * j + D/2, not interleaved):
 *   y[j]       = x[j]       · cos θ_j − x[j + D/2] · sin θ_j
 *   y[j + D/2] = x[j + D/2] · cos θ_j + x[j]       · sin θ_j        (j < D/2)
 * which is HF's `q * cos + rotate_half(q) * sin` with cos/sin = cat(freqs, freqs).
 *
 * Angles come from host tables computed in f64 (then stored as f32 cos/sin) of shape (T, D/2), or (B, T, D/2) when
 * each batch row has its own positions:
 * - `ropeTables(positions, D, theta)`: θ_j = pos · theta^(−2j/D)   (Qwen2RotaryEmbedding, text-only positions).
 * - `mropeTables([t, h, w], D, theta, mropeSection)`: the D/2 frequency bands are split into sections
 *   [s_t, s_h, s_w] (sum D/2); band j takes its position from t if j < s_t, from h if j < s_t + s_h, else from w.
 *   This is HF `apply_multimodal_rotary_pos_emb` (transformers models/qwen2_5_vl/modeling_qwen2_5_vl.py):
 *   `mrope_section = mrope_section * 2; cos = cat([m[i % 3] for i, m in enumerate(cos.split(mrope_section, -1))])`
 *   — the doubled section list covers both halves of cat(freqs, freqs), so j and j + D/2 use the same section.
 *   Position ids are `getRopeIndex(...).positionIds` from core/model/rope_index.ts.
 * - `visionRopeTables(hw, D, theta = 10000)`: HF Qwen2_5_VisionRotaryEmbedding(D/2): inv_freq_i = theta^(−2i/(D/2)),
 *   i < D/4; band j < D/4 uses h · inv_freq_j, band j ≥ D/4 uses w · inv_freq_(j−D/4) (rot_pos_emb's
 *   `freqs[pos_ids].flatten(1)`), then cat(freqs, freqs) as above. `hw` is (N, 2) from visionRotaryPositions.
 *
 * Layouts of x (documented choice for the model): "BHTD" (B, H, T, D) — the attention layout, default for rank 4;
 * "BTHD" (B, T, H, D) — straight out of the q/k projection reshaped, no transpose needed first; "THD" (T, H, D) —
 * the vision tower's packed patches, default for rank 3. Backward is the rotation by −θ (same kernel, sin negated).
 */
import { Tensor } from "../tensor.ts";
import { record } from "../tape.ts";
import { ShapeMismatchError } from "../errors.ts";
import { ropeGeometry, type RopeLayout, ropeRaw } from "../kernels/rope.ts";

export type { RopeLayout };

/** cos/sin of the rotation angles, row-major (batch?, tokens, half) with half = D/2. */
export interface RopeTables {
  /** cos θ per (token, frequency band). */
  cos: Float64Array;
  /** sin θ per (token, frequency band). */
  sin: Float64Array;
  /** [T, D/2] or [B, T, D/2]. */
  shape: number[];
}

function tables(T: number, half: number, angle: (t: number, j: number) => number): RopeTables {
  const cos = new Float64Array(T * half), sin = new Float64Array(T * half);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < half; j++) {
      const a = angle(t, j);
      cos[t * half + j] = Math.cos(a);
      sin[t * half + j] = Math.sin(a);
    }
  }
  return { cos, sin, shape: [T, half] };
}

function checkHeadDim(headDim: number, multiple: number): void {
  if (headDim <= 0 || headDim % multiple !== 0) {
    throw new ShapeMismatchError("rope", `head dim ${headDim} must be a positive multiple of ${multiple}`);
  }
}

/** 1-D RoPE tables for integer (or fractional) positions: θ_j = pos · theta^(−2j/D). */
export function ropeTables(positions: ArrayLike<number>, headDim: number, theta: number): RopeTables {
  checkHeadDim(headDim, 2);
  const half = headDim / 2;
  const inv = Array.from({ length: half }, (_, j) => 1 / Math.pow(theta, (2 * j) / headDim));
  return tables(positions.length, half, (t, j) => positions[t] * inv[j]);
}

/** M-RoPE tables from (3, T) position ids (t, h, w) and mrope_section (sums to D/2). */
export function mropeTables(
  positionIds: readonly [ArrayLike<number>, ArrayLike<number>, ArrayLike<number>],
  headDim: number,
  theta: number,
  mropeSection: readonly [number, number, number] | readonly number[],
): RopeTables {
  checkHeadDim(headDim, 2);
  const half = headDim / 2;
  if (mropeSection.length !== 3 || mropeSection[0] + mropeSection[1] + mropeSection[2] !== half) {
    throw new ShapeMismatchError("mropeTables", `mrope_section [${mropeSection}] must have 3 parts summing to D/2`);
  }
  const T = positionIds[0].length;
  if (positionIds[1].length !== T || positionIds[2].length !== T) {
    throw new ShapeMismatchError("mropeTables", "t, h and w position ids must have the same length");
  }
  const inv = Array.from({ length: half }, (_, j) => 1 / Math.pow(theta, (2 * j) / headDim));
  const sec = (j: number) => (j < mropeSection[0] ? 0 : j < mropeSection[0] + mropeSection[1] ? 1 : 2);
  return tables(T, half, (t, j) => positionIds[sec(j)][t] * inv[j]);
}

/** Vision 2-D RoPE tables from (N, 2) interleaved (h, w) patch positions. */
export function visionRopeTables(hw: ArrayLike<number>, headDim: number, theta = 10000): RopeTables {
  checkHeadDim(headDim, 4);
  const half = headDim / 2, q = headDim / 4;
  const inv = Array.from({ length: q }, (_, i) => 1 / Math.pow(theta, (2 * i) / half));
  return tables(hw.length / 2, half, (n, j) => (j < q ? hw[2 * n] * inv[j] : hw[2 * n + 1] * inv[j - q]));
}

/** Stack per-sequence tables (same T and D) into (B, T, D/2) for batches whose rows have different positions. */
export function stackRopeTables(list: readonly RopeTables[]): RopeTables {
  const [T, half] = list[0].shape.slice(-2);
  for (const t of list) {
    if (t.shape.length !== 2 || t.shape[0] !== T || t.shape[1] !== half) {
      throw new ShapeMismatchError("stackRopeTables", `[${t.shape}] vs [${T}, ${half}]`);
    }
  }
  const cos = new Float64Array(list.length * T * half), sin = new Float64Array(cos.length);
  list.forEach((t, b) => {
    cos.set(t.cos, b * T * half);
    sin.set(t.sin, b * T * half);
  });
  return { cos, sin, shape: [list.length, T, half] };
}

/** Upload tables as f32 tensors (do this once per forward and reuse across layers). */
export function ropeTablesToTensors(t: RopeTables): { cos: Tensor; sin: Tensor } {
  return { cos: Tensor.from(Float32Array.from(t.cos), t.shape), sin: Tensor.from(Float32Array.from(t.sin), t.shape) };
}

/**
 * Rotate x by the angles in (cos, sin) tables (from `ropeTablesToTensors`). x: (B, H, T, D) for "BHTD" (default at
 * rank 4), (B, T, H, D) for "BTHD", (T, H, D) for "THD" (default at rank 3). The tables get no gradient.
 */
export function rope(x: Tensor, cos: Tensor, sin: Tensor, layout?: RopeLayout): Tensor {
  const lay = layout ?? (x.rank === 3 ? "THD" : "BHTD");
  const out = ropeRaw(x, cos, sin, lay, 1);
  // fwd: y = R(θ)·x on each (j, j + D/2) pair  →  dx = R(θ)ᵀ·g = R(−θ)·g
  return record(out, "rope", [x], (g) => [ropeRaw(g, cos, sin, lay, -1)]);
}

/** f64 reference (same layouts; tables (T, D/2) or (B, T, D/2)). */
export function ropeReference(
  x: Float64Array,
  shape: readonly number[],
  layout: RopeLayout,
  t: RopeTables,
): Float64Array {
  const D = shape[shape.length - 1], half = D / 2;
  const g = ropeGeometry(shape, layout);
  const rowsPerBatch = x.length / D / g.B;
  const batched = t.shape.length === 3;
  const out = new Float64Array(x.length);
  for (let row = 0; row < x.length / D; row++) {
    const tok = Math.floor(row / g.rowsPerTok) % g.T;
    const b = Math.floor(row / rowsPerBatch);
    for (let j = 0; j < half; j++) {
      const k = (batched ? b * g.T * half : 0) + tok * half + j;
      const x1 = x[row * D + j], x2 = x[row * D + j + half];
      out[row * D + j] = x1 * t.cos[k] - x2 * t.sin[k];
      out[row * D + j + half] = x2 * t.cos[k] + x1 * t.sin[k];
    }
  }
  return out;
}
