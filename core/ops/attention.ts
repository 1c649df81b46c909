/**
 * Scaled-dot-product attention, fused and tiled in the FlashAttention style: each invocation owns `qr` query rows,
 * keeps q and the output accumulator in registers, walks the visible keys (`bc` keys per unrolled step) with an
 * online softmax (running max m and sum l, acc and l rescaled by exp(m_old − m_new) as m grows), and writes O and the
 * per-row logsumexp. No Tq × Tk matrix is ever stored in GPU memory, forward or backward.
 *
 * Shapes (B batch, Hq query heads, Hkv key/value heads, Tq queries, Tk keys, D head dim, D % 4 == 0):
 *   q (B, Hq, Tq, D), k and v (B, Hkv, Tk, D), out (B, Hq, Tq, D), lse (B, Hq, Tq).
 * Grouped-query heads: Hq % Hkv == 0 and query head h reads KV head floor(h / (Hq / Hkv)).
 *
 * Visibility of key j to query i (all must hold):
 * - causal: j ≤ i + (Tk − Tq) (bottom-right aligned, so decoding with a KV cache works);
 * - cuSeqlens / segmentIds (Tq == Tk): i and j in the same segment (block-diagonal; the vision tower's window and
 *   per-frame attention); each workgroup's key loop only visits its rows' segments, so windows cost ~O(Σ len²);
 * - mask broadcastable to (B, Hq, Tq, Tk): "additive" (default) adds the value to the score, and values ≤ −1e30
 *   (including −Infinity) mark the key invisible; "binary" keeps keys where the mask is non-zero.
 * A row with no visible key gives out = 0 and lse = −Infinity (never NaN); its gradients are 0.
 *
 * Backward (FlashAttention-2): Δ_i = Σ_d dO_i·O_i; one kernel per query row recomputes p_ij = exp(s_ij − lse_i) and
 * accumulates dq; one kernel per key row of each KV head loops over the query heads of its group and accumulates
 * dk and dv (so dk/dv are summed over the query heads sharing the KV head, with no atomics). The mask gets no
 * gradient. GPU tile sizes are parameters (`AttentionTiling`); the WASM kernels block keys for SIMD128
 * (core/wasm/kernels/attention.ts).
 */
import type { Tensor } from "../tensor.ts";
import { record } from "../tape.ts";
import {
  attentionBackwardRaw,
  type AttentionDims,
  attentionForwardRaw,
  type AttentionOptions,
  attentionPlan,
  attentionTiling,
  segmentRanges,
} from "../kernels/attention.ts";
import { broadcastStrides } from "../kernels/shapes.ts";
import type { AttentionPlan } from "../kernels/types.ts";

export { type AttentionOptions, attentionTiling, segmentRanges };
/** GPU tile sizes (see attentionTiling). */
export type AttentionTiling = AttentionPlan["tiling"];

/**
 * softmax(q·kᵀ·scale + mask) · v per head, with GQA, causal/segment/mask visibility (see the file header).
 * q (B, Hq, Tq, D), k/v (B, Hkv, Tk, D) → (B, Hq, Tq, D).
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions): Tensor;
/** softmax(q·kᵀ·scale + mask) · v per head, with GQA and causal/segment/mask visibility (see the file comment). */
export function attention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: AttentionOptions & { returnLse: true },
): { out: Tensor; lse: Tensor };
export function attention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: AttentionOptions & { returnLse?: boolean } = {},
): Tensor | { out: Tensor; lse: Tensor } {
  const plan = attentionPlan(q, k, v, opts);
  const mask = opts.mask ?? null;
  const fwd = attentionForwardRaw(q, k, v, mask, plan);
  const { out, lse } = fwd;
  // fwd: s = q·kᵀ·scale + mask, p = softmax(s) over visible keys, o = p·v, lse = log Σ exp(s)
  record(out, "attention", [q, k, v], (g) => {
    // dv = pᵀ·dO ; dp = dO·vᵀ ; ds = p ⊙ (dp − Δ), Δ = rowsum(dO ⊙ o) ; dq = ds·k·scale ; dk = dsᵀ·q·scale
    const grads = attentionBackwardRaw(fwd, g, plan);
    plan.range?.dispose();
    if (!opts.returnLse) lse.dispose();
    return grads;
  });
  if (!out.requiresGrad) plan.range?.dispose();
  if (opts.returnLse) return { out, lse };
  if (!out.requiresGrad) lse.dispose();
  return out;
}

/** f64 reference: { out (B, Hq, Tq, D), lse (B, Hq, Tq) }; mask given as flat data + shape. */
export function attentionReference(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  dims: AttentionDims,
  opts: {
    causal?: boolean;
    mask?: { data: Float64Array; shape: readonly number[] };
    maskKind?: "additive" | "binary";
    scale?: number;
    cuSeqlens?: readonly number[];
    segmentIds?: ArrayLike<number>;
  } = {},
): { out: Float64Array; lse: Float64Array } {
  const { B, Hq, Hkv, Tq, Tk, D } = dims;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const ranges = segmentRanges(Tq, opts);
  const ms = opts.mask ? broadcastStrides(opts.mask.shape, [B, Hq, Tq, Tk]) : null;
  const out = new Float64Array(B * Hq * Tq * D), lse = new Float64Array(B * Hq * Tq);
  const s = new Float64Array(Tk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const c = Math.floor(h / (Hq / Hkv));
      for (let i = 0; i < Tq; i++) {
        let mx = -Infinity;
        for (let j = 0; j < Tk; j++) {
          let visible = !opts.causal || j <= i + Tk - Tq;
          if (ranges) visible &&= j >= ranges[2 * i] && j < ranges[2 * i + 1];
          let sc = 0;
          for (let d = 0; d < D; d++) sc += q[((b * Hq + h) * Tq + i) * D + d] * k[((b * Hkv + c) * Tk + j) * D + d];
          sc *= scale;
          if (ms && opts.mask) {
            const mv = opts.mask.data[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]];
            if (opts.maskKind === "binary") visible &&= mv !== 0;
            else if (mv <= -1e30) visible = false;
            else sc += mv;
          }
          s[j] = visible ? sc : -Infinity;
          mx = Math.max(mx, s[j]);
        }
        const row = (b * Hq + h) * Tq + i;
        if (mx === -Infinity) {
          lse[row] = -Infinity;
          continue;
        }
        let sum = 0;
        for (let j = 0; j < Tk; j++) sum += s[j] === -Infinity ? 0 : Math.exp(s[j] - mx);
        lse[row] = mx + Math.log(sum);
        for (let j = 0; j < Tk; j++) {
          if (s[j] === -Infinity) continue;
          const pj = Math.exp(s[j] - mx) / sum;
          for (let d = 0; d < D; d++) out[row * D + d] += pj * v[((b * Hkv + c) * Tk + j) * D + d];
        }
      }
    }
  }
  return { out, lse };
}
