/**
 * The raw-kernel interface both devices implement (core/gpu/backend.ts, core/wasm/backend.ts). The raw layer
 * (core/kernels/*.ts) validates shapes, plans the work (strides, broadcast tables, tiling-free dimensions) and
 * allocates outputs on the inputs' device; a backend only runs kernels into the tensors it is given. Nothing here
 * records gradients: the recording ops in core/ops build on the raw layer.
 */
import type { DType, Tensor } from "../tensor.ts";

/** Elementwise binary kernels. */
export type BinaryOpName = "add" | "sub" | "mul" | "div" | "maximum" | "minimum" | "eq" | "gt" | "lt";

/** Elementwise unary kernels (forward functions and the derivatives their backward rules multiply by). */
export const UNARY_NAMES = [
  "exp",
  "log",
  "recip",
  "drecip",
  "sqrt",
  "dsqrt",
  "rsqrt",
  "drsqrt",
  "abs",
  "sign",
  "neg",
  "negOne",
  "tanh",
  "dtanh",
  "sigmoid",
  "dsigmoid",
  "silu",
  "dsilu",
  "relu",
  "step",
  "geluErf",
  "dgeluErf",
  "geluTanh",
  "dgeluTanh",
  "addScalar",
  "one",
  "mulScalar",
  "constS",
  "pow",
  "dpow",
] as const;
/** One of UNARY_NAMES. */
export type UnaryName = typeof UNARY_NAMES[number];

/** An elementwise op over broadcast operands: the output shape and each operand's strides (0 on broadcast axes). */
export interface BroadcastPlan {
  shape: number[];
  strides: number[][];
}

export type ReduceKind = "sum" | "max";

/** A reduction of x over some axes: output index o walks `kept` (row-major), reduced index r walks `red`. */
export interface ReducePlan {
  nOut: number;
  nRed: number;
  keptShape: number[];
  keptStrides: number[];
  redShape: number[];
  redStrides: number[];
}

export interface MatmulPlan {
  batch: number;
  m: number;
  n: number;
  k: number;
  /** Elements between batches of A and B (0: shared by every batch). */
  strideA: number;
  strideB: number;
  transA: boolean;
  transB: boolean;
}

/** (outer, len, inner) views for slice / pad / place: `dim` is the full axis, [start, start + len) the part. */
export interface AxisPart {
  outer: number;
  inner: number;
  len: number;
  dim: number;
  start: number;
}

/** How a softmax mask is read: 0/1 keep flags, or additive biases (≤ −1e30 hides). */
export type MaskMode = "keep" | "additive";

export interface SoftmaxPlan {
  rows: number;
  len: number;
  scale: number;
  log: boolean;
  mode: MaskMode;
  /** Mask strides over x's leading axes (x.shape[:-1]) and along the last axis; null without a mask. */
  mask: { leadShape: number[]; leadStrides: number[]; lastStride: number } | null;
}

export type NormKind = "rms" | "ln";

export interface NormPlan {
  kind: NormKind;
  rows: number;
  len: number;
  eps: number;
}

export interface RopePlan {
  nPairs: number;
  half: number;
  T: number;
  rowsPerTok: number;
  rowsPerBatch: number;
  /** Elements between batches of the cos/sin tables (0: one table for every batch). */
  tableBatch: number;
  sign: 1 | -1;
}

export interface CrossEntropyPlan {
  rows: number;
  len: number;
  ignore: number;
  reduction: "mean" | "sum" | "none";
}

/** Attention sizes: batch, query / KV heads, query / key tokens, head dim. */
export interface AttentionDims {
  /** Batch. */
  B: number;
  /** Query heads. */
  Hq: number;
  /** Key/value heads (Hq % Hkv == 0). */
  Hkv: number;
  /** Query tokens. */
  Tq: number;
  /** Key tokens. */
  Tk: number;
  /** Head dim. */
  D: number;
}

/** One attention call's tensors: the inputs, the mask (or null), the output and its per-row log-sum-exp. */
export interface AttentionTensors {
  /** Queries (B, Hq, Tq, D). */
  q: Tensor;
  /** Keys (B, Hkv, Tk, D). */
  k: Tensor;
  /** Values (B, Hkv, Tk, D). */
  v: Tensor;
  /** Broadcastable to (B, Hq, Tq, Tk), or null. */
  mask: Tensor | null;
  /** Output (B, Hq, Tq, D). */
  out: Tensor;
  /** log Σ exp(score) per query row (B, Hq, Tq), kept for the backward. */
  lse: Tensor;
}

/** Attention problem: shapes, visibility and score scale (see core/ops/attention.ts). */
export interface AttentionPlan extends AttentionDims {
  /** Causal visibility (bottom-right aligned). */
  causal: boolean;
  /** How the mask tensor is read. */
  mask: "none" | "additive" | "binary";
  /** Mask strides over (B, Hq, Tq, Tk). */
  maskStrides: number[];
  /** Score scale (1/√D by default). */
  scale: number;
  /** Per-query [lo, hi) key ranges (u32 (Tq, 2) tensor on the device), or null. */
  range: Tensor | null;
  /** GPU tile sizes (the WASM kernels choose their own blocking). */
  tiling: { wg: number; bc: number; qr: number; bwdRows: number };
}

export interface L2Plan {
  lines: number;
  len: number;
  inner: number;
  eps: number;
}

export interface IndexPlan {
  /** x viewed as (outer, len, inner); k indices. */
  outer: number;
  len: number;
  inner: number;
  k: number;
}

export interface GatherPlan {
  rank: number;
  axis: number;
  xShape: number[];
  indexShape: number[];
}

export interface AdamWPlan {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1 − lr · weight decay. */
  decay: number;
  bc1: number;
  bc2: number;
}

/** Every raw kernel a device offers. Outputs are allocated by the caller on the backend's device. */
export interface Backend {
  /** Whether f16 storage and f32 ↔ f16 casts work on this device. */
  supportsF16(): boolean;
  fill(out: Tensor, value: number): void;
  /** Byte copy src[srcOffset, +bytes) → dst[dstOffset, +bytes) (4-byte multiples). */
  copy(src: Tensor, srcOffset: number, dst: Tensor, dstOffset: number, bytes: number): void;
  binary(op: BinaryOpName, a: Tensor, b: Tensor, out: Tensor, plan: BroadcastPlan | null): void;
  unary(name: UnaryName, x: Tensor, out: Tensor, s: number): void;
  /** cond ≠ 0 ? a : b; a number is a scalar operand (its stride list in the plan is all zeros). */
  where(cond: Tensor, a: Tensor | number, b: Tensor | number, out: Tensor, plan: BroadcastPlan): void;
  cast(x: Tensor, out: Tensor): void;
  reduce(kind: ReduceKind, x: Tensor, out: Tensor, plan: ReducePlan): void;
  /** out.shape[i] = x.shape[perm[i]]; `srcStrides[i]` is x's stride along the axis out's axis i comes from. */
  permute(x: Tensor, out: Tensor, srcStrides: number[]): void;
  /** out (outer, len, inner) = x (outer, dim, inner)[:, start:start+len]. */
  slice(x: Tensor, out: Tensor, part: AxisPart): void;
  /** out (outer, dim, inner) = zeros with g (outer, len, inner) at [start, start+len). */
  pad(g: Tensor, out: Tensor, part: AxisPart): void;
  /** out (outer, dim, inner)[:, start:start+len] = x (outer, len, inner); the rest of out is untouched. */
  place(x: Tensor, out: Tensor, part: AxisPart): void;
  matmul(a: Tensor, b: Tensor, bias: Tensor | null, out: Tensor, plan: MatmulPlan): void;
  softmaxForward(x: Tensor, mask: Tensor | null, out: Tensor, plan: SoftmaxPlan): void;
  softmaxBackward(y: Tensor, g: Tensor, mask: Tensor | null, dx: Tensor, plan: SoftmaxPlan): void;
  /** Writes out and per-row (μ, r) stats (rows, 2). */
  normForward(x: Tensor, w: Tensor | null, b: Tensor | null, out: Tensor, stats: Tensor, plan: NormPlan): void;
  normBackwardX(x: Tensor, w: Tensor | null, g: Tensor, stats: Tensor, dx: Tensor, plan: NormPlan): void;
  normBackwardW(x: Tensor, g: Tensor, stats: Tensor, dw: Tensor, db: Tensor, plan: NormPlan): void;
  rope(x: Tensor, cos: Tensor, sin: Tensor, out: Tensor, plan: RopePlan): void;
  /** Per-row losses and logsumexp. */
  crossEntropyRows(logits: Tensor, targets: Tensor, losses: Tensor, lse: Tensor, plan: CrossEntropyPlan): void;
  /** out[0] = Σ losses (÷ count for "mean"); count[0] = non-ignored rows. */
  crossEntropyReduce(losses: Tensor, targets: Tensor, out: Tensor, count: Tensor, plan: CrossEntropyPlan): void;
  crossEntropyBackward(
    logits: Tensor,
    targets: Tensor,
    lse: Tensor,
    g: Tensor,
    count: Tensor,
    dx: Tensor,
    plan: CrossEntropyPlan,
  ): void;
  attentionForward(t: AttentionTensors, plan: AttentionPlan): void;
  attentionBackward(
    t: AttentionTensors,
    g: Tensor,
    grads: { dq: Tensor; dk: Tensor; dv: Tensor },
    plan: AttentionPlan,
  ): void;
  l2Forward(x: Tensor, y: Tensor, norms: Tensor, plan: L2Plan): void;
  l2Backward(y: Tensor, g: Tensor, norms: Tensor, dx: Tensor, plan: L2Plan): void;
  /** k first (value desc, index asc) per row of the last axis. */
  topk(x: Tensor, values: Tensor, indices: Tensor, plan: { rows: number; len: number; k: number }): void;
  /** out (outer, k, inner) ← x (outer, len, inner) at idx (i32, out-of-range reads 0). */
  indexSelect(x: Tensor, idx: Tensor, out: Tensor, plan: IndexPlan): void;
  /** dx (outer, len, inner) = Σ over positions k with idx[k] = v (ascending k) of g[:, k, :]. `host` = idx on the host. */
  indexSelectBackward(g: Tensor, idx: Tensor, host: Int32Array | null, dx: Tensor, plan: IndexPlan): void;
  gather(x: Tensor, index: Tensor, out: Tensor, plan: GatherPlan): void;
  gatherBackward(g: Tensor, index: Tensor, dx: Tensor, plan: GatherPlan): void;
  /** stats = [‖(g₁, g₂, …)‖₂, min(1, maxNorm / (norm + eps))]. */
  gradNorm(grads: Tensor[], stats: Tensor, maxNorm: number, eps: number): void;
  /** out = g · stats[1]. */
  scaleByStat(g: Tensor, stats: Tensor, out: Tensor): void;
  /** In place: m, v ← moments; w ← w·decay − lr·(m/bc1)/(√(v/bc2) + eps). */
  adamw(w: Tensor, g: Tensor, m: Tensor, v: Tensor, plan: AdamWPlan): void;
}

export type { DType };
