/**
 * The correspondence head H_c (Eq 4): a 2-layer MLP on one LLM layer's visual tokens, E = H_c(V^(l)).
 * Parameters, SVD initialisation from the same layer's W_Q, and an f64 reference forward/backward that the GPU
 * version is tested against.
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
import { ConfigError, ShapeMismatchError } from "../core/errors.ts";
import { erf } from "../core/model/reference_ops.ts";
import type { Rng } from "../core/random.ts";
import { addRowVector, type MatF64, matmul, matmulTransA, matmulTransB, sumRows, zeros } from "./dense_f64.ts";
import { svd } from "./svd.ts";

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
  const { U, S, V } = svd(wq);
  const r = S.length; // min(q, d)
  const { hidden: h, out: o } = dims;
  const k = Math.floor(h / 2);
  const kept = Math.min(k, r);
  if (opts.shape === "sec-4" && kept < o) {
    throw new ConfigError("head.dEmb", `sec-4 dEmb ${o} exceeds rank bound min(q, d) = ${r} of W_Q`);
  }
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

// GELU. erf form: gelu(z) = z Φ(z) = ½ z (1 + erf(z/√2)),  gelu'(z) = Φ(z) + z φ(z).
// tanh form: gelu(z) = ½ z (1 + tanh(u)), u = √(2/π) (z + 0.044715 z³),
//            gelu'(z) = ½ (1 + t) + ½ z (1 − t²) √(2/π) (1 + 3·0.044715 z²), t = tanh(u).
const GELU_C = Math.sqrt(2 / Math.PI);

export function gelu(z: number, form: GeluForm = "erf"): number {
  if (form === "erf") return 0.5 * z * (1 + erf(z / Math.SQRT2));
  return 0.5 * z * (1 + Math.tanh(GELU_C * (z + 0.044715 * z * z * z)));
}

export function geluGrad(z: number, form: GeluForm = "erf"): number {
  if (form === "erf") return 0.5 * (1 + erf(z / Math.SQRT2)) + (z * Math.exp(-0.5 * z * z)) / Math.sqrt(2 * Math.PI);
  const t = Math.tanh(GELU_C * (z + 0.044715 * z * z * z));
  return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * z * z);
}

export interface HeadForwardCache {
  x: MatF64; // (N, d)
  preAct: MatF64; // (N, h)
  act: MatF64; // (N, h)
}

/** E = fc2(GELU(fc1(X))). X (N, d) → E (N, o). */
export function correspondenceHeadForward(
  p: CorrespondenceHeadParams,
  x: MatF64,
): { out: MatF64; cache: HeadForwardCache } {
  if (x.cols !== p.dims.dModel) {
    throw new ShapeMismatchError("correspondenceHeadForward", `input width ${x.cols} vs d = ${p.dims.dModel}`);
  }
  const preAct = addRowVector(matmulTransB(x, p.fc1Weight), p.fc1Bias); // (N, h)
  const act = zeros(preAct.rows, preAct.cols); // (N, h)
  for (let i = 0; i < act.data.length; i++) act.data[i] = gelu(preAct.data[i], p.gelu);
  const out = addRowVector(matmulTransB(act, p.fc2Weight), p.fc2Bias); // (N, o)
  return { out, cache: { x, preAct, act } };
}

export interface HeadGrads {
  dX: MatF64; // (N, d)
  fc1Weight: MatF64; // (h, d)
  fc1Bias: Float64Array; // (h)
  fc2Weight: MatF64; // (o, h)
  fc2Bias: Float64Array; // (o)
}

/** Backward of correspondenceHeadForward given dL/dE (N, o). */
export function correspondenceHeadBackward(
  p: CorrespondenceHeadParams,
  cache: HeadForwardCache,
  dOut: MatF64,
): HeadGrads {
  // fwd: E = A W2ᵀ + b2, A = gelu(Z), Z = X W1ᵀ + b1
  const fc2Weight = matmulTransA(dOut, cache.act); // dW2 = dEᵀ A          (o, h)
  const fc2Bias = sumRows(dOut); // db2 = Σ_n dE                          (o)
  const dAct = matmul(dOut, p.fc2Weight); // dA = dE W2                   (N, h)
  const dPre = zeros(dAct.rows, dAct.cols); // dZ = dA ⊙ gelu'(Z)          (N, h)
  for (let i = 0; i < dPre.data.length; i++) dPre.data[i] = dAct.data[i] * geluGrad(cache.preAct.data[i], p.gelu);
  const fc1Weight = matmulTransA(dPre, cache.x); // dW1 = dZᵀ X           (h, d)
  const fc1Bias = sumRows(dPre); // db1 = Σ_n dZ                          (h)
  const dX = matmul(dPre, p.fc1Weight); // dX = dZ W1                     (N, d)
  return { dX, fc1Weight, fc1Bias, fc2Weight, fc2Bias };
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

/** Named tensors of one head for a checkpoint (shape + f64 data). */
export function headTensors(
  layer: number,
  p: CorrespondenceHeadParams,
): Map<string, { shape: number[]; data: Float64Array }> {
  const n = headParamNames(layer);
  return new Map([
    [n.fc1Weight, { shape: [p.dims.hidden, p.dims.dModel], data: p.fc1Weight.data }],
    [n.fc1Bias, { shape: [p.dims.hidden], data: p.fc1Bias }],
    [n.fc2Weight, { shape: [p.dims.out, p.dims.hidden], data: p.fc2Weight.data }],
    [n.fc2Bias, { shape: [p.dims.out], data: p.fc2Bias }],
  ]);
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
