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
 * gradient. Tile sizes are parameters (`AttentionTiling`).
 */
import { Tensor } from "../tensor.ts";
import { record } from "../autograd.ts";
import { ShapeMismatchError } from "../errors.ts";
import { broadcastShapes, broadcastStrides, grid1d, launch, packParams } from "./kernel.ts";
import { GpuContext } from "../gpu/context.ts";
import { deltaCode, dkvCode, dqCode, forwardCode } from "./attention_wgsl.ts";
import type { Variant } from "./attention_wgsl.ts";

export interface AttentionTiling {
  /** Invocations per workgroup (along query rows, or key rows in the dk/dv kernel). */
  wg: number;
  /** Keys per unrolled step of the key loop (code size and compile time grow with bc · qr). */
  bc: number;
  /** Query rows per invocation (register tile; each loaded key/value row is reused qr times). */
  qr: number;
  /** Rows per invocation in the backward kernels (query rows for dq, key rows for dk/dv). */
  bwdRows: number;
}

/**
 * Tile sizes. On llvmpipe each K/V load is paid once per invocation, so rows per invocation (qr) set the speed, but
 * LLVM compile time grows steeply with qr · D (D = 64: qr 4 ≈ 5 s, qr 8 ≈ 19 s on this machine, uncached); wg = 8
 * is one 256-bit SIMD batch. A real GPU wants qr 1–2 and wg 64–128.
 */
export function attentionTiling(): AttentionTiling {
  return { wg: 8, bc: 1, qr: 4, bwdRows: 2 };
}

export interface AttentionOptions {
  causal?: boolean;
  /** Broadcastable to (B, Hq, Tq, Tk), f32. */
  mask?: Tensor;
  maskKind?: "additive" | "binary";
  /** Score scale; default 1/√D. */
  scale?: number;
  /** Segment boundaries [0, …, T] for block-diagonal attention (Tq == Tk == last entry). */
  cuSeqlens?: readonly number[];
  /** Alternative to cuSeqlens: one id per token; equal ids must form contiguous runs. */
  segmentIds?: ArrayLike<number>;
  tiling?: Partial<AttentionTiling>;
}

interface Dims {
  B: number;
  Hq: number;
  Hkv: number;
  Tq: number;
  Tk: number;
  D: number;
}

function checkDims(q: Tensor, k: Tensor, v: Tensor): Dims {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4 || k.shape.join() !== v.shape.join()) {
    throw new ShapeMismatchError("attention", `q [${q.shape}], k [${k.shape}], v [${v.shape}]: need 4-D, k = v shape`);
  }
  const [B, Hq, Tq, D] = q.shape;
  const [Bk, Hkv, Tk, Dk] = k.shape;
  if (Bk !== B || Dk !== D || Hkv === 0 || Hq % Hkv !== 0) {
    throw new ShapeMismatchError("attention", `q [${q.shape}] vs k/v [${k.shape}]: batch, head dim or Hq % Hkv`);
  }
  if (D % 4 !== 0) throw new ShapeMismatchError("attention", `head dim ${D} must be a multiple of 4`);
  return { B, Hq, Hkv, Tq, Tk, D };
}

/** Per-query [lo, hi) key range from segment boundaries (host). */
export function segmentRanges(T: number, opts: Pick<AttentionOptions, "cuSeqlens" | "segmentIds">): Uint32Array | null {
  let cu = opts.cuSeqlens ? [...opts.cuSeqlens] : null;
  if (!cu && opts.segmentIds) {
    const ids = opts.segmentIds;
    cu = [0];
    const seen = new Set<number>();
    for (let i = 1; i <= ids.length; i++) {
      if (i === ids.length || ids[i] !== ids[i - 1]) {
        if (seen.has(ids[i - 1])) throw new ShapeMismatchError("attention", "segmentIds runs must be contiguous");
        seen.add(ids[i - 1]);
        cu.push(i);
      }
    }
  }
  if (!cu) return null;
  if (cu[0] !== 0 || cu[cu.length - 1] !== T || cu.some((c, i) => i > 0 && c < cu![i - 1])) {
    throw new ShapeMismatchError("attention", `cuSeqlens [${cu}] must rise from 0 to T = ${T}`);
  }
  const r = new Uint32Array(2 * T);
  for (let s = 0; s + 1 < cu.length; s++) {
    for (let i = cu[s]; i < cu[s + 1]; i++) {
      r[2 * i] = cu[s];
      r[2 * i + 1] = cu[s + 1];
    }
  }
  return r;
}

interface Prepared {
  dims: Dims;
  variant: Variant;
  params: ArrayBuffer;
  mask: Tensor | null;
  range: Tensor | null;
  tiling: AttentionTiling;
}

function prepare(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Prepared {
  const dims = checkDims(q, k, v);
  const { B, Hq, Tq, Tk, D } = dims;
  const ranges = segmentRanges(Tq, opts);
  if (ranges && Tq !== Tk) throw new ShapeMismatchError("attention", "segments need Tq == Tk");
  let ms = [0, 0, 0, 0];
  if (opts.mask) {
    const full = [B, Hq, Tq, Tk];
    const bs = broadcastShapes("attention mask", opts.mask.shape, full);
    if (bs.join() !== full.join() || opts.mask.rank > 4) {
      throw new ShapeMismatchError("attention", `mask [${opts.mask.shape}] does not broadcast to [${full}]`);
    }
    ms = broadcastStrides(opts.mask.shape, full);
  }
  const tiling = { ...attentionTiling(), ...opts.tiling };
  const variant: Variant = {
    D,
    causal: !!opts.causal,
    mask: opts.mask ? opts.maskKind ?? "additive" : "none",
    range: !!ranges,
  };
  const params = packParams([
    ["u32", B],
    ["u32", Hq],
    ["u32", dims.Hkv],
    ["u32", Tq],
    ["u32", Tk],
    ["f32", opts.scale ?? 1 / Math.sqrt(D)],
    ["i32", Tk - Tq],
    ["u32", ms[0]],
    ["u32", ms[1]],
    ["u32", ms[2]],
    ["u32", ms[3]],
    ["u32", tiling.bc],
  ]);
  const range = ranges ? Tensor.from(ranges, [Tq, 2], { dtype: "u32" }) : null;
  return { dims, variant, params, mask: opts.mask ?? null, range, tiling };
}

function key(op: string, v: Variant, extra: string): string {
  return `attn_${op}_d${v.D}_${+v.causal}${v.mask}${+v.range}_${extra}`;
}

function forwardRaw(q: Tensor, k: Tensor, v: Tensor, pr: Prepared): { out: Tensor; lse: Tensor } {
  const { B, Hq, Tq } = pr.dims;
  const out = Tensor.empty(q.shape);
  const lse = Tensor.empty([B, Hq, Tq]);
  if (out.size === 0) return { out, lse };
  const t = pr.tiling;
  const gx = Math.ceil(Tq / (t.wg * t.qr));
  launch(
    key("fwd", pr.variant, `${t.wg}x${t.bc}x${t.qr}`),
    forwardCode(pr.variant, t),
    [q, k, v, pr.mask ?? q, pr.range ?? q, out, lse],
    pr.params,
    [gx, Hq, B],
  );
  return { out, lse };
}

function backwardRaw(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  out: Tensor,
  lse: Tensor,
  g: Tensor,
  pr: Prepared,
): [Tensor, Tensor, Tensor] {
  const { B, Hq, Hkv, Tq, Tk, D } = pr.dims;
  const wg = pr.tiling.wg, br = pr.tiling.bwdRows;
  const stats = Tensor.empty([B, Hq, Tq, 2]);
  const nRows = B * Hq * Tq;
  launch(
    `attn_delta_d${D}`,
    deltaCode(D / 4, 64),
    [out, g, lse, stats],
    packParams([["u32", nRows]]),
    grid1d(nRows, 64),
  );
  const dq = Tensor.empty(q.shape);
  const inputs = [q, k, v, pr.mask ?? q, pr.range ?? q, stats, g];
  launch(key("dq", pr.variant, `${wg}x${br}`), dqCode(pr.variant, wg, br), [...inputs, dq], pr.params, [
    Math.ceil(Tq / (wg * br)),
    Hq,
    B,
  ]);
  const dkv = Tensor.empty([2, B, Hkv, Tk, D]);
  launch(key("dkv", pr.variant, `${wg}x${br}`), dkvCode(pr.variant, wg, br), [...inputs, dkv], pr.params, [
    Math.ceil(Tk / (wg * br)),
    Hkv,
    B,
  ]);
  stats.dispose();
  const half = k.size * 4;
  const dk = Tensor.empty(k.shape), dv = Tensor.empty(v.shape);
  const ctx = GpuContext.current();
  ctx.copy(dkv.buffer, 0, dk.buffer, 0, half);
  ctx.copy(dkv.buffer, half, dv.buffer, 0, half);
  dkv.dispose();
  return [dq, dk, dv];
}

/**
 * softmax(q·kᵀ·scale + mask) · v per head, with GQA, causal/segment/mask visibility (see the file header).
 * q (B, Hq, Tq, D), k/v (B, Hkv, Tk, D) → (B, Hq, Tq, D).
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions): Tensor;
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
  const pr = prepare(q, k, v, opts);
  const { out, lse } = forwardRaw(q, k, v, pr);
  // fwd: s = q·kᵀ·scale + mask, p = softmax(s) over visible keys, o = p·v, lse = log Σ exp(s)
  record(out, "attention", [q, k, v], (g) => {
    // dv = pᵀ·dO ; dp = dO·vᵀ ; ds = p ⊙ (dp − Δ), Δ = rowsum(dO ⊙ o) ; dq = ds·k·scale ; dk = dsᵀ·q·scale
    const grads = backwardRaw(q, k, v, out, lse, g, pr);
    pr.range?.dispose();
    if (!opts.returnLse) lse.dispose();
    return grads;
  });
  if (!out.requiresGrad) pr.range?.dispose();
  if (opts.returnLse) return { out, lse };
  if (!out.requiresGrad) lse.dispose();
  return out;
}

/** f64 reference: { out (B, Hq, Tq, D), lse (B, Hq, Tq) }; mask given as flat data + shape. */
export function attentionReference(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  dims: Dims,
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
