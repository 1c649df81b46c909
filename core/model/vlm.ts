/**
 * The Qwen2.5-VL-style VLM on our WebGPU runtime: vision tower (patch embed, windowed/full attention blocks with 2-D
 * rotary), 2×2 merger, decoder (GQA with q/k/v bias, M-RoPE, SwiGLU), LM head. Parameters are tensors keyed by the
 * Hugging Face names. One sequence per forward (batch 1); training batches by gradient accumulation.
 * Checked against core/model/reference/forward.ts (f64) in tests/core/model/vlm_test.ts.
 *
 * Letters: N patches, U = N/4 merged tokens, Cv vision width, T tokens, H LLM width, Hq/Hkv heads, D head dim,
 * V vocab, Nv visual tokens.
 *
 * Introspection (paper App. C): with `capture`, every LLM layer returns the visual tokens' output hidden states, and
 * their queries and keys before RoPE ("pre": q_proj(input_layernorm(x)), content only) and/or after RoPE ("post":
 * what enters q·k). Rows follow `visualPositions` (all image/video pad tokens in prompt order).
 *
 * KV cache (generation): `prefill(input)` runs the prompt and returns the last token's logits and a `VlmKvCache`
 * holding every layer's post-RoPE keys and values (1, Hkv, T, D); `decodeStep(tokenId, cache)` runs one token against
 * it (positions p + rope_delta in t/h/w, from decodePositionIds; causal attention with Tq = 1 < Tk) and grows it by
 * concat. `forward(input, { cache })` is the general form: an empty cache is filled from the prompt, a non-empty one
 * is extended by text tokens. The cache owns its tensors (kept out of tidy scopes); free them with `cache.dispose()`.
 */
import { keep, Tensor } from "../tensor.ts";
import { checkpoint, noGrad } from "../autograd.ts";
import * as op from "../ops/mod.ts";
import type { VlmConfig } from "./config.ts";
import { headDim, visionHeadDim } from "./config.ts";
import { parameterShapes, type Weights } from "./init.ts";
import { decodePositionIds, getRopeIndex, type VisionGrid } from "./rope_index.ts";
import {
  type GridThw,
  inversePermutation,
  visionCuSeqlens,
  visionRotaryPositions,
  visionWindowIndex,
} from "./vision_windows.ts";
import { ShapeMismatchError } from "../errors.ts";
import { type DeviceWeights, loadDeviceWeights, type RowBlocks, type WeightDType } from "./device_weights.ts";
import type { WeightReader } from "./weight_reader.ts";
import { concatPixelValues, visualPositionsOf, type VisualSpan, visualSpans } from "./visual_spans.ts";

export { type VisualSpan, visualSpans };

/** One image or video for the vision tower: its patch grid and HF-layout pixel values (core/image/preprocess.ts). */
export interface VisionInput extends VisionGrid {
  /** (grid_t·grid_h·grid_w, C·T·P·P) HF pixel_values. */
  pixelValues: Float32Array;
}

/** One prompt: token ids (with the vision pad runs) and the images/videos those pads stand for, in prompt order. */
export interface VlmInput {
  /** (T) token ids, vision pads included (core/model/processing.ts `encodePrompt` builds them). */
  inputIds: ArrayLike<number>;
  /** Images of the `<|image_pad|>` runs, in prompt order. */
  images?: VisionInput[];
  /** Videos of the `<|video_pad|>` runs, in prompt order. */
  videos?: VisionInput[];
}

/** Lets training wrap a linear layer (LoRA: y + (α/r)·B·A·x) without a new layer kind. */
export type LinearHook = (name: string, x: Tensor, y: Tensor) => Tensor;

/** What {@linkcode VlmModel.forward} computes besides the hidden states, and how. */
export interface ForwardOptions {
  /** Which per-layer visual features to return. */
  capture?: { hidden?: boolean; attn?: boolean; qk?: "pre" | "post" | "both" };
  /** Wraps every linear layer's output (LoRA: train/lora.ts). */
  linearHook?: LinearHook;
  /** Recompute each decoder layer during backward instead of keeping its activations. */
  checkpointLayers?: boolean;
  /**
   * Compute logits for all tokens (true, default), only the last token ("last": (1, V)), only the given positions
   * (an Int32Array of R rows: (R, V), e.g. the positions a loss has targets at, so the (T, V) matrix over a 150k
   * vocabulary is never built), or none (false).
   */
  logits?: boolean | "last" | Int32Array;
  /**
   * Attend over and extend this KV cache. Empty: the input is a prompt (images/videos allowed), whose M-RoPE ids set
   * the cache's rope delta. Non-empty: the input continues it (text tokens only; positions p + rope delta).
   */
  cache?: VlmKvCache;
}

/** Per-layer post-RoPE keys and values (1, Hkv, length, D) of every token seen so far, for decoding. */
export class VlmKvCache {
  /** Per LLM layer, the post-RoPE keys (1, Hkv, length, D). */
  readonly keys: Tensor[] = [];
  /** Per LLM layer, the values (1, Hkv, length, D). */
  readonly values: Tensor[] = [];
  /** Tokens held. */
  length = 0;
  /** M-RoPE delta of the prompt (max position + 1 − prompt length); set by the first forward. */
  ropeDelta = 0;

  /** Append layer l's new (1, Hkv, T, D) keys/values; returns the full (1, Hkv, length + T, D) pair. */
  append(l: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    const grow = (list: Tensor[], x: Tensor): Tensor => {
      const old = list[l];
      const all = keep(old ? op.concat([old, x], 2) : x); // x is a fresh tensor (permute copies)
      old?.dispose();
      list[l] = all;
      return all;
    };
    return [grow(this.keys, k), grow(this.values, v)];
  }

  /** Free every layer's tensors; the cache is empty afterwards. */
  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t.dispose();
    this.keys.length = 0;
    this.values.length = 0;
    this.length = 0;
  }
}

/** One LLM layer's visual-token features, as `ForwardOptions.capture` asked (paper App. C). */
export interface LayerFeatures {
  /** (Nv, H) output hidden state of the layer. */
  hidden?: Tensor;
  /** (Nv, H) the attention sublayer's output o_proj(attention) alone, before the residual add (capture.attn). */
  attn?: Tensor;
  /** (Nv, Hq, D) queries before RoPE: q_proj(input_layernorm(x)). */
  qPre?: Tensor;
  /** (Nv, Hkv, D) keys before RoPE. */
  kPre?: Tensor;
  /** (Nv, Hq, D) queries after RoPE (what enters q·k). */
  qPost?: Tensor;
  /** (Nv, Hkv, D) keys after RoPE. */
  kPost?: Tensor;
}

/** What one forward returns. */
export interface VlmOutput {
  /** (T, V) or null. */
  logits: Tensor | null;
  /** Per LLM layer, the captured visual-token features (empty objects when nothing was captured). */
  layers: LayerFeatures[];
  /** The prompt's image/video pad runs, in prompt order. */
  visualSpans: VisualSpan[];
  /** (Nv) token positions of all visual tokens, in prompt order: the rows of the captured features. */
  visualPositions: Int32Array;
  /** (3, T) M-RoPE position ids (t, h, w) of the input tokens. */
  positionIds: [Int32Array, Int32Array, Int32Array];
}

/**
 * The VLM: parameters by Hugging Face name on the current device, and its forward, prefill and decode.
 *
 * @example Forward a text prompt through the tiny model with seeded random weights
 * ```ts
 * import { initDevice, initParameters, TINY_CONFIG, VlmModel } from "@gasp/gasp-ts";
 * await initDevice();
 * const model = new VlmModel(TINY_CONFIG, initParameters(TINY_CONFIG, 0));
 * const out = model.forward({ inputIds: [1, 2, 3] });
 * console.log(out.logits!.shape); // [3, vocab_size]
 * model.dispose();
 * ```
 */
export class VlmModel {
  /** Every parameter, keyed by its Hugging Face name (`model.layers.0.self_attn.q_proj.weight`, …). */
  readonly params = new Map<string, Tensor>();
  /** Vocabulary-sized matrices stored as row blocks because they exceed one device buffer (device_weights.ts). */
  readonly rowBlocks = new Map<string, RowBlocks>();

  /**
   * From host weights (uploaded f32), or from parameters already on the device (`VlmModel.load`, which streams a
   * checkpoint there tensor by tensor).
   * @param config the architecture
   * @param weights f32 values by Hugging Face name (every name `parameterShapes(config)` lists), or device weights
   * @param opts `trainable`: parameters require grad (stage "base" trains them all)
   */
  constructor(readonly config: VlmConfig, weights: Weights | DeviceWeights, opts: { trainable?: boolean } = {}) {
    if (!(weights instanceof Map)) {
      for (const [name, shape] of parameterShapes(config)) {
        const t = weights.params.get(name), rb = weights.rowBlocks.get(name);
        const have = t ? [...t.shape] : rb ? [...rb.shape] : null;
        if (!have || have.join() !== shape.join()) {
          throw new ShapeMismatchError(
            "VlmModel",
            `parameter ${name}: expected [${shape}], got ${have ? `[${have}]` : "none"}`,
          );
        }
        if (t) this.params.set(name, t);
        else this.rowBlocks.set(name, rb!);
      }
      return;
    }
    for (const [name, shape] of parameterShapes(config)) {
      const w = weights.get(name);
      if (!w) throw new ShapeMismatchError("VlmModel", `missing parameter ${name} [${shape}]`);
      const n = shape.reduce((a, b) => a * b, 1);
      if (w.length !== n) {
        throw new ShapeMismatchError("VlmModel", `parameter ${name} has ${w.length} values, expected [${shape}]`);
      }
      const t = Tensor.param(w, shape, name);
      t.requiresGrad = opts.trainable ?? false;
      this.params.set(name, t);
    }
  }

  /**
   * Streams `reader`'s weights onto the device (one chunk of one tensor on the host at a time), matrices stored as
   * `dtype` (f16: frozen, half the memory; compute stays f32), then builds the model.
   */
  static async load(
    config: VlmConfig,
    reader: WeightReader,
    opts: { dtype: WeightDType; trainable?: boolean; maxBytes?: number },
  ): Promise<VlmModel> {
    const w = await loadDeviceWeights(reader, opts);
    return new VlmModel(config, w, opts);
  }

  /** Storage of the matrices: "f16" when the model was loaded so, else "f32". */
  get weightDType(): WeightDType {
    const e = this.params.get("model.layers.0.mlp.up_proj.weight") ?? this.params.get("visual.merger.mlp.0.weight");
    return e?.dtype === "f16" ? "f16" : "f32";
  }

  /** The parameter `name`; throws ShapeMismatchError naming it when the model has none. */
  p(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) {
      if (this.rowBlocks.has(name)) {
        throw new ShapeMismatchError("VlmModel", `${name} is stored in row blocks (above one device buffer)`);
      }
      throw new ShapeMismatchError("VlmModel", `no parameter ${name}`);
    }
    return t;
  }

  /** Download all parameters (HF names). */
  async toWeights(): Promise<Weights> {
    const out: Weights = new Map();
    for (const name of parameterShapes(this.config).keys()) out.set(name, await this.downloadParam(name));
    return out;
  }

  /** One parameter's values as f32 on the host (row blocks concatenated). */
  async downloadParam(name: string): Promise<Float32Array> {
    const rb = this.rowBlocks.get(name);
    if (!rb) return Float32Array.from(await this.p(name).toArray());
    const out = new Float32Array(rb.shape[0] * rb.shape[1]);
    for (let b = 0; b < rb.blocks.length; b++) out.set(await rb.blocks[b].toArray(), rb.starts[b] * rb.shape[1]);
    return out;
  }

  /** Free every parameter's storage. */
  dispose(): void {
    for (const t of this.params.values()) t.dispose();
    for (const rb of this.rowBlocks.values()) rb.blocks.forEach((t) => t.dispose());
    this.params.clear();
    this.rowBlocks.clear();
  }

  /** x (R, H) · headᵀ → (R, V) logits; a row-block head is projected block by block and the columns concatenated. */
  lmHead(x: Tensor): Tensor {
    const name = this.config.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight";
    const rb = this.rowBlocks.get(name);
    if (!rb) return op.matmul(x, this.p(name), { transB: true }); // (R, V)
    const parts = rb.blocks.map((b) => op.matmul(x, b, { transB: true })); // (R, rows of block b)
    return parts.length === 1 ? parts[0] : op.concat(parts, 1); // (R, V)
  }

  /** Embedding rows of `ids` (N) → (N, H); a row-block table is gathered block by block. */
  embedTokens(ids: Int32Array): Tensor {
    const rb = this.rowBlocks.get("model.embed_tokens.weight");
    if (!rb) return op.embedding(this.p("model.embed_tokens.weight"), ids);
    for (const v of ids) {
      if (!(v >= 0 && v < rb.shape[0])) {
        throw new ShapeMismatchError("embedding", `token id ${v} is outside [0, ${rb.shape[0]})`);
      }
    }
    // Each block reads the ids in its row range (the others read 0: indexSelect's out-of-range rule), and the
    // partial tables add up exactly (one non-zero term per element).
    let out: Tensor | null = null;
    for (let b = 0; b < rb.blocks.length; b++) {
      const lo = rb.starts[b], hi = lo + rb.blocks[b].shape[0];
      if (out && !ids.some((v) => v >= lo && v < hi)) continue;
      const local = Tensor.from(ids.map((v) => v - lo), [ids.length], { dtype: "i32" });
      const part = op.indexSelect(rb.blocks[b], 0, local); // (N, H), zeros outside the block
      out = out ? op.add(out, part) : part;
    }
    return out!;
  }

  /** x (R, in) · Wᵀ + b, through the hook (LoRA) when given. */
  linear(name: string, x: Tensor, hook?: LinearHook, bias = true): Tensor {
    const w = this.p(`${name}.weight`);
    const b = bias ? this.params.get(`${name}.bias`) : undefined;
    const y = op.matmul(x, w.rank === 2 ? w : w.view([w.shape[0], w.size / w.shape[0]]), { transB: true, bias: b });
    return hook ? hook(name, x, y) : y;
  }

  /**
   * Vision tower + merger for a list of grids → (U, out_hidden), merged tokens in pixel_values order. `hook` wraps
   * the blocks' attention projections (attn.qkv, attn.proj: LoRA on the vision blocks, TrainConfig lora.vision).
   */
  vision(pixelValues: Float32Array, grids: GridThw[], hook?: LinearHook): Tensor {
    const c = this.config, v = c.vision_config;
    const Cv = v.hidden_size, Hv = v.num_heads, Dv = visionHeadDim(c), unit = v.spatial_merge_size ** 2;
    const N = grids.reduce((s, g) => s + g[0] * g[1] * g[2], 0);
    const inDim = pixelValues.length / N;
    const { windowIndex, cuWindowSeqlens } = visionWindowIndex(c, grids);
    // Patch order → window order, as row indices over patches (each merge unit is `unit` consecutive rows).
    const rowIndex = expandUnits(windowIndex, unit);
    const px = Tensor.from(pixelValues, [N, inDim]);
    let x = op.indexSelect(this.linear("visual.patch_embed.proj", px, undefined, false), 0, rowIndex); // (N, Cv)
    const hw = visionRotaryPositions(grids, v.spatial_merge_size);
    const hwWin = new Int32Array(N * 2);
    rowIndex.forEach((r, k) => {
      hwWin[2 * k] = hw[2 * r];
      hwWin[2 * k + 1] = hw[2 * r + 1];
    });
    const { cos, sin } = op.ropeTablesToTensors(op.visionRopeTables(hwWin, Dv));
    const fullCu = visionCuSeqlens(grids);
    for (let l = 0; l < v.depth; l++) {
      const p = `visual.blocks.${l}.`;
      const cu = v.fullatt_block_indexes.includes(l) ? fullCu : cuWindowSeqlens;
      const xn = op.rmsNorm(x, this.p(p + "norm1.weight"), 1e-6);
      const qkv = op.reshape(this.linear(p + "attn.qkv", xn, hook), [N, 3, Hv, Dv]); // (N, 3, Hv, Dv)
      const [q0, k0, v0] = op.split(qkv, [1, 1, 1], 1).map((t) => op.reshape(t, [N, Hv, Dv])); // (N, Hv, Dv)
      const q = op.rope(q0, cos, sin, "THD"), k = op.rope(k0, cos, sin, "THD");
      const toHeads = (t: Tensor) => op.reshape(op.permute(t, [1, 0, 2]), [1, Hv, N, Dv]); // (1, Hv, N, Dv)
      const a = op.attention(toHeads(q), toHeads(k), toHeads(v0), { cuSeqlens: cu }); // (1, Hv, N, Dv)
      const a2 = op.reshape(op.permute(op.reshape(a, [Hv, N, Dv]), [1, 0, 2]), [N, Cv]); // (N, Cv)
      x = op.add(x, this.linear(p + "attn.proj", a2, hook));
      const xn2 = op.rmsNorm(x, this.p(p + "norm2.weight"), 1e-6);
      const m = op.mul(op.silu(this.linear(p + "mlp.gate_proj", xn2)), this.linear(p + "mlp.up_proj", xn2));
      x = op.add(x, this.linear(p + "mlp.down_proj", m));
    }
    // Merger: ln_q, view (U, 4·Cv), Linear, GELU, Linear → (U, out); then back to pixel_values order.
    const U = N / unit;
    const xq = op.reshape(op.rmsNorm(x, this.p("visual.merger.ln_q.weight"), 1e-6), [U, unit * Cv]);
    const h1 = op.gelu(this.linear("visual.merger.mlp.0", xq));
    const out = this.linear("visual.merger.mlp.2", h1); // (U, out)
    return op.indexSelect(out, 0, inversePermutation(windowIndex));
  }

  /** Full forward; see the file comment for the captured features. */
  forward(input: VlmInput, opts: ForwardOptions = {}): VlmOutput {
    const c = this.config;
    const D = headDim(c), Hq = c.num_attention_heads, Hkv = c.num_key_value_heads;
    const ids = Int32Array.from(input.inputIds);
    const T = ids.length;
    const images = input.images ?? [], videos = input.videos ?? [];
    const hook = opts.linearHook;
    const imgF = images.length ? this.vision(concatPixelValues(images), images.map((i) => i.gridThw), hook) : null;
    const vidF = videos.length ? this.vision(concatPixelValues(videos), videos.map((i) => i.gridThw), hook) : null;
    const spans = visualSpans(c, ids, images, videos);
    const x0 = this.embed(ids, spans, imgF, vidF); // (T, H)
    const cache = opts.cache;
    const past = cache?.length ?? 0;
    if (cache && past > 0 && spans.length) {
      throw new ShapeMismatchError("VlmModel.forward", "images/videos must be in the prompt, not after a filled cache");
    }
    if (cache && opts.checkpointLayers) throw new ShapeMismatchError("VlmModel.forward", "cache with checkpointLayers");
    let positionIds: [Int32Array, Int32Array, Int32Array];
    if (cache && past > 0) positionIds = decodePositionIds(past, T, cache.ropeDelta);
    else {
      const ri = getRopeIndex(c, ids, images, videos);
      positionIds = ri.positionIds;
      if (cache) cache.ropeDelta = ri.ropeDelta;
    }
    const mr = c.rope_scaling.mrope_section as [number, number, number];
    const { cos, sin } = op.ropeTablesToTensors(op.mropeTables(positionIds, D, c.rope_theta, mr));
    const visualPositions = visualPositionsOf(spans);
    const rows = (t: Tensor) => gatherSpans(t, spans);
    const layers: LayerFeatures[] = [];
    const cap = opts.capture ?? {};
    let x = x0;
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const p = `model.layers.${l}.`;
      const feats: LayerFeatures = {};
      const block = (xin: Tensor): Tensor => {
        const xn = op.rmsNorm(xin, this.p(p + "input_layernorm.weight"), c.rms_norm_eps);
        const q = op.reshape(this.linear(p + "self_attn.q_proj", xn, hook), [1, T, Hq, D]); // (1, T, Hq, D)
        const k = op.reshape(this.linear(p + "self_attn.k_proj", xn, hook), [1, T, Hkv, D]); // (1, T, Hkv, D)
        const v = op.reshape(this.linear(p + "self_attn.v_proj", xn, hook), [1, T, Hkv, D]);
        const qr = op.rope(q, cos, sin, "BTHD"), kr = op.rope(k, cos, sin, "BTHD");
        if (cap.qk === "pre" || cap.qk === "both") {
          feats.qPre = rows(op.reshape(q, [T, Hq, D]));
          feats.kPre = rows(op.reshape(k, [T, Hkv, D]));
        }
        if (cap.qk === "post" || cap.qk === "both") {
          feats.qPost = rows(op.reshape(qr, [T, Hq, D]));
          feats.kPost = rows(op.reshape(kr, [T, Hkv, D]));
        }
        const heads = (t: Tensor) => op.permute(t, [0, 2, 1, 3]); // (1, H*, T, D)
        // With a cache: keys/values of the past tokens first → (1, Hkv, past + T, D); causal is bottom-right aligned.
        const [ka, va] = cache ? cache.append(l, heads(kr), heads(v)) : [heads(kr), heads(v)];
        const a = op.attention(heads(qr), ka, va, { causal: true }); // (1, Hq, T, D)
        const a2 = op.reshape(op.permute(a, [0, 2, 1, 3]), [T, Hq * D]); // (T, Hq·D)
        const attnOut = this.linear(p + "self_attn.o_proj", a2, hook, false); // (T, H)
        if (cap.attn) feats.attn = rows(attnOut);
        const h = op.add(xin, attnOut);
        const hn = op.rmsNorm(h, this.p(p + "post_attention_layernorm.weight"), c.rms_norm_eps);
        const m = op.mul(
          op.silu(this.linear(p + "mlp.gate_proj", hn, undefined, false)),
          this.linear(p + "mlp.up_proj", hn, undefined, false),
        );
        return op.add(h, this.linear(p + "mlp.down_proj", m, undefined, false)); // (T, H)
      };
      // Captures need the intermediates, so checkpointing applies only when nothing is captured from inside.
      x = opts.checkpointLayers && !cap.qk && !cap.attn ? checkpoint(block, [x]) : block(x);
      if (cap.hidden) feats.hidden = rows(x);
      layers.push(feats);
    }
    if (cache) cache.length = past + T;
    let logits: Tensor | null = null;
    if (opts.logits !== false) {
      const rows = opts.logits;
      const xl = rows === "last"
        ? op.slice(x, 0, T - 1, T)
        : rows instanceof Int32Array
        ? op.indexSelect(x, 0, rows)
        : x;
      const xn = op.rmsNorm(xl, this.p("model.norm.weight"), c.rms_norm_eps);
      logits = this.lmHead(xn); // (T, V), (1, V) or (R, V)
    }
    return { logits, layers, visualSpans: spans, visualPositions, positionIds };
  }

  /** Run a prompt into a new KV cache: the last token's logits (1, V) and the cache (dispose it when done). */
  prefill(input: VlmInput): { logits: Tensor; cache: VlmKvCache } {
    const cache = new VlmKvCache();
    try {
      const out = noGrad(() => this.forward(input, { cache, logits: "last" }));
      return { logits: out.logits!, cache };
    } catch (e) {
      cache.dispose();
      throw e;
    }
  }

  /** One token through the cache (which grows by one): its logits (1, V). */
  decodeStep(tokenId: number, cache: VlmKvCache): Tensor {
    if (cache.length === 0) throw new ShapeMismatchError("VlmModel.decodeStep", "empty cache: call prefill first");
    return noGrad(() => this.forward({ inputIds: [tokenId] }, { cache, logits: "last" })).logits!;
  }

  /** Token embeddings with vision features over the pad positions (HF masked_scatter), as one concat. */
  embed(ids: Int32Array, spans: VisualSpan[], imgF: Tensor | null, vidF: Tensor | null): Tensor {
    const pieces: Tensor[] = [];
    let t = 0, img = 0, vid = 0;
    for (const s of spans) {
      if (s.start > t) pieces.push(this.embedTokens(ids.subarray(t, s.start)));
      const n = s.end - s.start;
      const src = s.kind === "image" ? imgF : vidF;
      if (!src) throw new ShapeMismatchError("VlmModel.embed", `${s.kind} pads in the prompt but no ${s.kind}s given`);
      const off = s.kind === "image" ? img : vid;
      if (off + n > src.shape[0]) {
        throw new ShapeMismatchError(
          "VlmModel.embed",
          `${s.kind} features for ${src.shape[0]} tokens, prompt needs more`,
        );
      }
      pieces.push(op.slice(src, 0, off, off + n));
      if (s.kind === "image") img += n;
      else vid += n;
      t = s.end;
    }
    if (t < ids.length) pieces.push(this.embedTokens(ids.subarray(t)));
    return pieces.length === 1 ? pieces[0] : op.concat(pieces, 0); // (T, H)
  }
}

/** Expand a merge-unit permutation to a patch-row permutation (unit consecutive rows per merge unit). */
function expandUnits(index: Int32Array, unit: number): Int32Array {
  const out = new Int32Array(index.length * unit);
  index.forEach((u, k) => {
    for (let j = 0; j < unit; j++) out[k * unit + j] = u * unit + j;
  });
  return out;
}

/** Rows of the visual spans of a (T, …) tensor, concatenated → (Nv, …). */
function gatherSpans(x: Tensor, spans: VisualSpan[]): Tensor {
  const parts = spans.map((s) => op.slice(x, 0, s.start, s.end));
  return parts.length === 1 ? parts[0] : op.concat(parts, 0);
}
