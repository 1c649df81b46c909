/** Raw attention (no tape): validation, the visibility plan, forward and backward on the inputs' device. */
import { Tensor } from "../tensor.ts";
import { ShapeMismatchError } from "../errors.ts";
import { kernelsOf } from "./backend.ts";
import { broadcastShapes, broadcastStrides } from "./shapes.ts";
import type { AttentionDims, AttentionPlan, AttentionTensors } from "./types.ts";

export type { AttentionDims };

/** Options of `attention` (see core/ops/attention.ts for the visibility rules). */
export interface AttentionOptions {
  /** Bottom-right aligned causal visibility (key j ≤ query i + Tk − Tq). */
  causal?: boolean;
  /** Broadcastable to (B, Hq, Tq, Tk), f32. */
  mask?: Tensor;
  /** "additive" (default): added to the score, ≤ −1e30 hides the key; "binary": non-zero keeps it. */
  maskKind?: "additive" | "binary";
  /** Score scale; default 1/√D. */
  scale?: number;
  /** Segment boundaries [0, …, T] for block-diagonal attention (Tq == Tk == last entry). */
  cuSeqlens?: readonly number[];
  /** Alternative to cuSeqlens: one id per token; equal ids must form contiguous runs. */
  segmentIds?: ArrayLike<number>;
  /** GPU tile sizes (attentionTiling); the WASM kernels block on their own. */
  tiling?: Partial<AttentionPlan["tiling"]>;
}

/**
 * GPU tile sizes. On llvmpipe each K/V load is paid once per invocation, so rows per invocation (qr) set the speed,
 * but LLVM compile time grows steeply with qr · D (D = 64: qr 4 ≈ 5 s, qr 8 ≈ 19 s on this machine, uncached);
 * wg = 8 is one 256-bit SIMD batch. A real GPU wants qr 1–2 and wg 64–128.
 */
export function attentionTiling(): AttentionPlan["tiling"] {
  return { wg: 8, bc: 1, qr: 4, bwdRows: 2 };
}

function checkDims(q: Tensor, k: Tensor, v: Tensor): AttentionDims {
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

/** Validates and plans one attention call; the plan owns its range table (dispose with `disposeAttentionPlan`). */
export function attentionPlan(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): AttentionPlan {
  const dims = checkDims(q, k, v);
  const { device } = kernelsOf("attention", q, k, v, opts.mask);
  const { B, Hq, Tq, Tk, D } = dims;
  const ranges = segmentRanges(Tq, opts);
  if (ranges && Tq !== Tk) throw new ShapeMismatchError("attention", "segments need Tq == Tk");
  let maskStrides = [0, 0, 0, 0];
  if (opts.mask) {
    const full = [B, Hq, Tq, Tk];
    const bs = broadcastShapes("attention mask", opts.mask.shape, full);
    if (bs.join() !== full.join() || opts.mask.rank > 4) {
      throw new ShapeMismatchError("attention", `mask [${opts.mask.shape}] does not broadcast to [${full}]`);
    }
    maskStrides = broadcastStrides(opts.mask.shape, full);
  }
  return {
    ...dims,
    causal: !!opts.causal,
    mask: opts.mask ? opts.maskKind ?? "additive" : "none",
    maskStrides,
    scale: opts.scale ?? 1 / Math.sqrt(D),
    range: ranges ? Tensor.from(ranges, [Tq, 2], { dtype: "u32", device }) : null,
    tiling: { ...attentionTiling(), ...opts.tiling },
  };
}

export function attentionForwardRaw(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | null,
  plan: AttentionPlan,
): AttentionTensors {
  const { device, k: kernels } = kernelsOf("attention", q, k, v, mask);
  const out = Tensor.empty(q.shape, "f32", device);
  const lse = Tensor.empty([plan.B, plan.Hq, plan.Tq], "f32", device);
  const t = { q, k, v, mask, out, lse };
  if (out.size > 0) kernels.attentionForward(t, plan);
  return t;
}

export function attentionBackwardRaw(t: AttentionTensors, g: Tensor, plan: AttentionPlan): [Tensor, Tensor, Tensor] {
  const { device, k: kernels } = kernelsOf("attention backward", t.q, t.k, t.v, g);
  const grads = {
    dq: Tensor.empty(t.q.shape, "f32", device),
    dk: Tensor.empty(t.k.shape, "f32", device),
    dv: Tensor.empty(t.v.shape, "f32", device),
  };
  kernels.attentionBackward(t, g, grads, plan);
  return [grads.dq, grads.dk, grads.dv];
}
