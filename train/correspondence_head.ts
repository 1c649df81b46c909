/**
 * The correspondence heads H_c (Eq 4): one 2-layer MLP per supervised LLM layer on its visual tokens,
 * E = H_c(V^(l)) = fc2(GELU(fc1(V^(l)))), as trainable tensors named `correspondence_heads.{l}.fc{1,2}.{weight,bias}`,
 * initialised on the host (f64) by SVD of the same layer's W_Q. The f64 forward/backward they are tested against is
 * train/reference/correspondence_head.ts.
 *
 * Dimension letters: N visual tokens, d model width (hidden_size), h head hidden width, o head output width,
 * k number of singular directions kept, q rows of q_proj (= d for Qwen2.5-VL).
 *
 * Two shapes, chosen by config (`head.shape`):
 *   "app-b"  (App. B):   d → h = ⌊d/2⌋, GELU, → o = d
 *   "sec-4"  (Sec 4.1):  d → h = 2·d_emb, GELU, → o = d_emb
 * Linear weights use the HF layout [out, in]: fc1.weight (h, d), fc2.weight (o, h); y = x Wᵀ + b.
 *
 * SVD init. HF q_proj.weight is W_Q (q, d) with q = W_Q x + b_Q. Let W_Q = U Σ Vᵀ (svd.ts: U (q, r), Σ desc, V (d, r)).
 * Keep k = ⌊h/2⌋ directions and split each singular value evenly, Σ_k^{1/2} on each layer. The hidden units come in
 * ± PAIRS (unit j and unit k + j carry the same direction with opposite signs):
 *
 *   fc1.weight rows 0..k−1   =  Σ_k^{1/2} V_kᵀ          (k, d)
 *   fc1.weight rows k..2k−1  = −Σ_k^{1/2} V_kᵀ          (k, d)
 *   fc1.bias                 =  0
 *   app-b: fc2.weight cols 0..k−1 = U_k Σ_k^{1/2}, cols k..2k−1 = −U_k Σ_k^{1/2}   (d, 2k)
 *          fc2.bias               = U_k U_kᵀ b_Q       (the bias projected on the same k directions)
 *   sec-4: fc2.weight cols 0..k−1 = Σ_k^{1/2},     cols k..2k−1 = −Σ_k^{1/2}       (k, 2k), k = d_emb
 *          fc2.bias               = U_kᵀ b_Q
 *
 * Why pairs: GELU(z) − GELU(−z) = z·Φ(z) + z·Φ(−z) = z exactly (for the erf form, and for the tanh approximation,
 * whose Φ̃ satisfies Φ̃(z) + Φ̃(−z) = 1 too), so with z = Σ_k^{1/2} V_kᵀ x the head's output at init is EXACTLY
 *   app-b: H_c(x) = U_k Σ_k V_kᵀ x + U_k U_kᵀ b_Q = U_k U_kᵀ (W_Q x + b_Q)     (rank-k projection of the query)
 *   sec-4: H_c(x) = Σ_k V_kᵀ x + U_kᵀ b_Q       = U_kᵀ (W_Q x + b_Q)          (its coordinates in the U_k basis)
 * i.e. the head starts as the layer's own query projection restricted to its top-k subspace, not an approximation
 * distorted by the nonlinearity, at any input scale (the residual stream after layer l is much larger than the
 * RMS-normed input W_Q sees; a one-sided GELU would clip half of every direction). U_k has orthonormal columns, so
 * the sec-4 embedding has the same norms and cosine similarities (Eq 5) as the app-b one. The nonlinearity is still
 * live: GELU'(z) ≠ GELU'(−z), so the two units of a pair get different gradients and drift apart during training.
 * The k = ⌊h/2⌋ kept directions fill exactly the paper's 2·d_emb hidden width for sec-4; for app-b it keeps d/4 of
 * the d query directions (the largest ones). Splitting Σ as Σ^{1/2}·Σ^{1/2} balances the two layers' scales, so
 * their gradients are of similar size (as in LoRA-style SVD inits, e.g. PiSSA).
 * Hidden units beyond 2k (h odd) or directions beyond rank(W_Q) get fc1 rows ~ N(0, 0.02²) and fc2 columns 0:
 * they change nothing at init and are not dead (their fc2 column gets gradient GELU(z) ≠ 0).
 */
import { type Rng, Tensor } from "../core/runtime.ts";
import * as op from "../core/ops/mod.ts";
import { ConfigError, ShapeMismatchError } from "../core/errors.ts";
import { type MatF64, zeros } from "./mat_f64.ts";
import { topSingularTriplets } from "./head_svd.ts";
import type { HeadInput, LayerEmbedder } from "../core/analysis/model_features.ts";

/** "app-b": d → d/2 → d (App. B); "sec-4": d → 2·dEmb → dEmb (Sec 4.1). */
export type HeadShape = "app-b" | "sec-4";
/** GELU form: "erf" is exact (torch nn.GELU() default, core/ops gelu default); "tanh" its approximation. */
export type GeluForm = "erf" | "tanh";

export interface HeadDims {
  /** Input width d (the LLM hidden size). */
  dModel: number;
  /** Hidden width h. */
  hidden: number;
  /** Output (embedding) width o. */
  out: number;
}

export interface CorrespondenceHeadParams {
  shape: HeadShape;
  gelu: GeluForm;
  dims: HeadDims;
  fc1Weight: MatF64; // (h, d)
  fc1Bias: Float64Array; // (h)
  fc2Weight: MatF64; // (o, h)
  fc2Bias: Float64Array; // (o)
}

/** Head widths for a shape: app-b d → ⌊d/2⌋ → d; sec-4 d → 2·dEmb → dEmb. */
export function headDims(shape: HeadShape, dModel: number, dEmb: number): HeadDims {
  if (shape === "app-b") return { dModel, hidden: Math.floor(dModel / 2), out: dModel };
  if (!(Number.isInteger(dEmb) && dEmb > 0 && dEmb <= dModel)) {
    throw new ConfigError("head.dEmb", `sec-4 needs 1 ≤ dEmb ≤ hidden_size (${dModel}), got ${dEmb}`);
  }
  return { dModel, hidden: 2 * dEmb, out: dEmb };
}

export interface HeadInitOptions {
  shape: HeadShape;
  /** Embedding width for sec-4 (ignored by app-b). */
  dEmb: number;
  /** q_proj.bias (q), if the layer has one (Qwen2.5-VL does). */
  qBias?: Float64Array;
  /** Draws the small weights of spare hidden units. */
  rng: Rng;
  /** Default "erf". */
  gelu?: GeluForm;
}

/** SVD initialisation from HF q_proj.weight W_Q (q, d); see the file comment for the exact fill. */
export function initCorrespondenceHeadFromQuery(wq: MatF64, opts: HeadInitOptions): CorrespondenceHeadParams {
  const d = wq.cols;
  const dims = headDims(opts.shape, d, opts.dEmb);
  if (opts.shape === "app-b" && wq.rows !== d) {
    throw new ShapeMismatchError("initCorrespondenceHeadFromQuery", `app-b needs a square W_Q, got (${wq.rows}, ${d})`);
  }
  if (opts.qBias && opts.qBias.length !== wq.rows) {
    throw new ShapeMismatchError("initCorrespondenceHeadFromQuery", `q bias ${opts.qBias.length} vs ${wq.rows} rows`);
  }
  const { hidden: h, out: o } = dims;
  const k = Math.floor(h / 2);
  const rankBound = Math.min(wq.rows, d);
  const kept = Math.min(k, rankBound);
  if (opts.shape === "sec-4" && kept < o) {
    throw new ConfigError("head.dEmb", `sec-4 dEmb ${o} exceeds rank bound min(q, d) = ${rankBound} of W_Q`);
  }
  // Only the kept top-k triplets: exact Jacobi at small widths, randomized at real ones (train/head_svd.ts).
  const { U, S, V } = topSingularTriplets(wq, kept);
  const r = kept; // columns of U (q, r) and V (d, r)
  const fc1Weight = zeros(h, d);
  const fc2Weight = zeros(o, h);
  for (let j = 0; j < kept; j++) {
    const sq = Math.sqrt(S[j]);
    for (let c = 0; c < d; c++) {
      const w = sq * V.data[c * r + j];
      fc1Weight.data[j * d + c] = w; // + unit
      fc1Weight.data[(k + j) * d + c] = -w; // − unit
    }
    if (opts.shape === "app-b") {
      for (let row = 0; row < o; row++) {
        const w = U.data[row * r + j] * sq;
        fc2Weight.data[row * h + j] = w;
        fc2Weight.data[row * h + k + j] = -w;
      }
    } else {
      fc2Weight.data[j * h + j] = sq;
      fc2Weight.data[j * h + k + j] = -sq;
    }
  }
  // Spare units: small random input weights, zero output weights.
  for (let j = 0; j < h; j++) {
    const paired = j < kept || (j >= k && j < k + kept);
    if (paired) continue;
    for (let c = 0; c < d; c++) fc1Weight.data[j * d + c] = 0.02 * opts.rng.normal();
  }
  const fc2Bias = new Float64Array(o);
  if (opts.qBias) {
    // coeff_j = u_jᵀ b_Q; app-b bias = Σ_j u_j coeff_j, sec-4 bias_j = coeff_j.
    for (let j = 0; j < kept; j++) {
      let coeff = 0;
      for (let row = 0; row < wq.rows; row++) coeff += U.data[row * r + j] * opts.qBias[row];
      if (opts.shape === "app-b") { for (let row = 0; row < o; row++) fc2Bias[row] += U.data[row * r + j] * coeff; }
      else fc2Bias[j] = coeff;
    }
  }
  return {
    shape: opts.shape,
    gelu: opts.gelu ?? "erf",
    dims,
    fc1Weight,
    fc1Bias: new Float64Array(h),
    fc2Weight,
    fc2Bias,
  };
}

/** Checkpoint key names of layer l's head (our own module, named like an HF MLP). */
export function headParamNames(
  layer: number,
): { fc1Weight: string; fc1Bias: string; fc2Weight: string; fc2Bias: string } {
  const p = `correspondence_heads.${layer}`;
  return {
    fc1Weight: `${p}.fc1.weight`,
    fc1Bias: `${p}.fc1.bias`,
    fc2Weight: `${p}.fc2.weight`,
    fc2Bias: `${p}.fc2.bias`,
  };
}

/**
 * SVD-initialised heads for the given layers from HF-named base weights (model.layers.{l}.self_attn.q_proj.weight
 * (q, d) and its bias), e.g. core/model/init.ts Weights. One Rng serves all layers in ascending order.
 */
export function initHeadsFromWeights(
  weights: Map<string, Float32Array>,
  hiddenSize: number,
  layers: number[],
  o: Omit<HeadInitOptions, "qBias">,
): Map<number, CorrespondenceHeadParams> {
  const heads = new Map<number, CorrespondenceHeadParams>();
  for (const l of [...layers].sort((a, b) => a - b)) {
    const name = `model.layers.${l}.self_attn.q_proj.weight`;
    const w = weights.get(name);
    if (!w) throw new ShapeMismatchError("initHeadsFromWeights", `missing ${name}`);
    if (w.length % hiddenSize !== 0) {
      throw new ShapeMismatchError("initHeadsFromWeights", `${name} has ${w.length} values`);
    }
    const wq: MatF64 = { rows: w.length / hiddenSize, cols: hiddenSize, data: Float64Array.from(w) };
    const b = weights.get(`model.layers.${l}.self_attn.q_proj.bias`);
    heads.set(l, initCorrespondenceHeadFromQuery(wq, { ...o, qBias: b ? Float64Array.from(b) : undefined }));
  }
  return heads;
}

/** One layer's head on the device. */
export interface CorrespondenceHead {
  /** The LLM layer whose hidden states it embeds. */
  layer: number;
  /** What of the layer it embeds: the block output V^(l) (Eq 4) or the attention sublayer's output alone. */
  input: HeadInput;
  /** GELU form between the two linears. */
  gelu: GeluForm;
  /** (h, d) first linear. */
  fc1Weight: Tensor; // (h, d)
  /** (h) first bias. */
  fc1Bias: Tensor; // (h)
  /** (o, h) second linear. */
  fc2Weight: Tensor; // (o, h)
  /** (o) second bias. */
  fc2Bias: Tensor; // (o)
}

export interface HeadSetup {
  shape: HeadShape;
  dEmb: number;
  gelu: GeluForm;
  /** Default "block" (Eq 4); "attention" is an issue-13 ablation (TrainConfig head.input). */
  input?: HeadInput;
}

/**
 * SVD-initialised heads for `layers`, from HF base weights (q_proj of each layer); one Rng for all layers. With
 * `restoring` (a resumed run, whose checkpoint holds the heads) the SVD is not computed: the tensors start at zero
 * and the checkpoint's values are written over them.
 */
export function createHeads(
  weights: Map<string, Float32Array>,
  hiddenSize: number,
  layers: number[],
  setup: HeadSetup,
  rng: Rng,
  restoring = false,
): Map<number, CorrespondenceHead> {
  const ref = restoring
    ? new Map(layers.map((l) => [l, zeroHead(setup, hiddenSize)]))
    : initHeadsFromWeights(weights, hiddenSize, layers, { shape: setup.shape, dEmb: setup.dEmb, rng });
  const out = new Map<number, CorrespondenceHead>();
  for (const [l, p] of ref) {
    const n = headParamNames(l);
    const { hidden: h, dModel: d, out: o } = p.dims;
    out.set(l, {
      layer: l,
      input: setup.input ?? "block",
      gelu: setup.gelu,
      fc1Weight: Tensor.param(Float32Array.from(p.fc1Weight.data), [h, d], n.fc1Weight),
      fc1Bias: Tensor.param(Float32Array.from(p.fc1Bias), [h], n.fc1Bias),
      fc2Weight: Tensor.param(Float32Array.from(p.fc2Weight.data), [o, h], n.fc2Weight),
      fc2Bias: Tensor.param(Float32Array.from(p.fc2Bias), [o], n.fc2Bias),
    });
  }
  return out;
}

function zeroHead(setup: HeadSetup, hiddenSize: number): CorrespondenceHeadParams {
  const dims = headDims(setup.shape, hiddenSize, setup.dEmb);
  return {
    shape: setup.shape,
    gelu: setup.gelu,
    dims,
    fc1Weight: zeros(dims.hidden, dims.dModel),
    fc1Bias: new Float64Array(dims.hidden),
    fc2Weight: zeros(dims.out, dims.hidden),
    fc2Bias: new Float64Array(dims.out),
  };
}

/** E = fc2(GELU(fc1(x))): x (N, d) → (N, o). */
export function headForward(head: CorrespondenceHead, x: Tensor): Tensor {
  const z = op.matmul(x, head.fc1Weight, { transB: true, bias: head.fc1Bias }); // (N, h)
  const a = op.gelu(z, head.gelu === "erf" ? "none" : "tanh"); // (N, h)
  return op.matmul(a, head.fc2Weight, { transB: true, bias: head.fc2Bias }); // (N, o)
}

/** All head tensors, in layer order then fc1.weight, fc1.bias, fc2.weight, fc2.bias. */
export function headParams(heads: Map<number, CorrespondenceHead>): Tensor[] {
  return [...heads.values()].sort((a, b) => a.layer - b.layer).flatMap((
    h,
  ) => [h.fc1Weight, h.fc1Bias, h.fc2Weight, h.fc2Bias]);
}

/**
 * The heads as an App. C embedder (core/analysis/model_features.ts): layer l's hidden states (or, for heads on the
 * attention output, that sublayer's output) → H_c^(l).
 *
 * @example Held-out PCK of a run's heads and Q/K, in memory right after train()
 * ```ts
 * import { headEmbedder, modelFeatureSources, resolveTrainConfig, runCorrespondenceEval, train } from "@gasp/gasp-ts";
 * const r = await train(resolveTrainConfig({ overrides: { steps: 4 } }), { out: "runs/gasp-4", baseDir: "runs/base" });
 * const sources = modelFeatureSources(r.model, r.tokenizer, {
 *   name: "gasp-4",
 *   linearHook: r.evalHook?.hook, // the trained LoRA, without dropout
 *   heads: headEmbedder(r.heads),
 * });
 * await runCorrespondenceEval({ data: "runs/data", out: "runs/eval-4", features: [], checkpoints: [], sources });
 * ```
 */
export function headEmbedder(heads: Map<number, CorrespondenceHead>): LayerEmbedder {
  const layers = [...heads.keys()].sort((a, b) => a - b);
  const input = layers.length ? heads.get(layers[0])!.input : "block";
  if (layers.some((l) => heads.get(l)!.input !== input)) {
    throw new ConfigError("head.input", "every head of one run embeds the same input");
  }
  return { layers, input, embed: (l, x) => headForward(heads.get(l)!, x) };
}
