/**
 * `deno task train --plan`: parameter counts and memory of a GASP run for a model config and settings, computed from
 * shapes alone (nothing is allocated, no weights are read), against a device's limits.
 *
 * Letters: H LLM width, I MLP width, Hq/Hkv heads, D head dim, kv = Hkv·D, V vocab, L LLM layers; Cv/Iv vision
 * width/MLP width, Lv vision blocks; T tokens of the longest item, Nv its visual tokens, N its vision patches,
 * r LoRA rank, h/o head hidden/output width, M correspondence pairs of an item (each scores Nv candidates).
 *
 * What is counted (f32 = 4 bytes unless the weights are stored as f16):
 * - weights: every base parameter (HF names, core/model/init.ts) at the storage dtype;
 * - trainable: LoRA A (r, in) and B (out, r) per target and layer, the heads' fc1/fc2; f32 master values, f32 grads
 *   and AdamW's two f32 moments (4 copies);
 * - activations of one item's forward+backward, f32: the step runs each item inside one tidy scope, so every tensor
 *   the forward creates lives until that item's backward ends. Per LLM layer that is
 *     T·(12H + 6kv + 4I)   (norms, q/k/v and their RoPE and head-major copies, attention out, o_proj, residuals,
 *                           gate/up/silu/product, down)
 *     + per LoRA target T·(in + r + 2·out)  (dropped input, A x, B A x, the scaled sum),
 *   per vision block N·(18Cv + 4Iv) (frozen, but alive until the scope ends), the merger, the heads
 *   (Nv·(H + 2h + 2o) + 3·M·Nv per head layer: captured hidden, fc1/GELU/fc2/normalised, similarities, softmax,
 *   their gradient) and the logits with their softmax at the LM loss's answer positions only (2·A·V, A answer
 *   tokens: VlmModel.forward computes logits for those rows alone);
 *   with activation checkpointing an LLM layer keeps only its input (T·H) and one layer's intermediates exist at a
 *   time during recompute. Attention is fused (core/ops/attention.ts): no T×T matrix.
 * - buffers: each tensor that must be one binding. The embedding and the LM head above the binding limit are stored
 *   in row blocks (core/model/device_weights.ts; the gather and the LM head read them block by block); any other
 *   tensor above it, the (A, V) logits included, makes the plan not fit (loading refuses it before allocating).
 */
import type { VlmConfig } from "./config.ts";
import { headDim } from "./config.ts";
import { numel, parameterShapes } from "./init.ts";

export type LoraTargetName = "q" | "k" | "v" | "o";

export interface TrainPlanSettings {
  loraRank: number;
  loraTargets: readonly LoraTargetName[];
  headShape: "app-b" | "sec-4";
  /** sec-4 embedding width (ignored by app-b). */
  headDEmb: number;
  /** LLM layers with a correspondence head. */
  headLayers: number;
  /** Tokens of the longest item (T). */
  tokens: number;
  /** Visual tokens of that item (Nv). */
  visualTokens: number;
  /** Vision patches of that item (N = 4·Nv for a 2×2 merge). */
  patches: number;
  /** Correspondence pairs of an item (M). */
  pairs: number;
  /** Answer tokens of a QA item (A): the only rows the LM head computes logits for. */
  answerTokens: number;
  /**
   * Weight storage; "auto" (as `--dtype auto`, core/model/device_weights.ts resolveWeightDType) is f16 for a
   * checkpoint stored in 16 bits (config.json torch_dtype bfloat16 / float16) on a device with f16 storage, else f32.
   */
  dtype: "auto" | "f32" | "f16";
  activationCheckpointing: boolean;
}

/** What a device can hold: the largest single binding and, for a WASM memory, the total. */
export interface DeviceLimits {
  name: string;
  maxBindingBytes: number;
  /** f16 weight storage available (every WebGPU adapter: kernels unpack f16 pairs from u32 words; WASM). */
  f16: boolean;
  /** A wasm32 memory holds at most 4 GiB; a GPU's total is not queryable through WebGPU (undefined). */
  maxTotalBytes?: number;
}

/** The wgpu/Dawn cap on maxStorageBufferBindingSize: 2 GiB − 1 (what a hardware adapter reports at most). */
export const WGPU_BINDING_CAP = 2 ** 31 - 1;
export const LLVMPIPE_BINDING = 128 * 2 ** 20;
export const WASM32_MEMORY = 2 ** 32;

export interface PlannedBuffer {
  name: string;
  /** Size as one buffer. */
  bytes: number;
  /** Row count and bytes per row of the split dimension. */
  rows: number;
  rowBytes: number;
  /** Row blocks it is split into under the limit (1 = fits whole; Infinity = a single row is over the limit). */
  blocks: number;
  /** Largest block after splitting. */
  blockBytes: number;
  splittable: boolean;
}

export interface DevicePlan {
  device: DeviceLimits;
  dtype: "f32" | "f16";
  weightBytes: number;
  buffers: PlannedBuffer[];
  /** The largest buffer before and after splitting. */
  largestWhole: PlannedBuffer;
  largestAfterSplit: PlannedBuffer;
  /** Total bytes the run holds (weights + trainable state + activations at the chosen checkpointing). */
  totalBytes: number;
  fits: boolean;
  /** Why not, one line each. */
  problems: string[];
}

export interface TrainPlan {
  parameters: { total: number; trainable: number; lora: number; heads: number };
  bytes: {
    /** Trainable values, their grads and AdamW m and v (f32). */
    trainableState: number;
    activations: { withCheckpointing: number; withoutCheckpointing: number };
  };
  devices: DevicePlan[];
}

/** Input and output width of each LoRA target's projection. */
function loraDims(c: VlmConfig, t: LoraTargetName): [number, number] {
  const H = c.hidden_size, q = c.num_attention_heads * headDim(c), kv = c.num_key_value_heads * headDim(c);
  return t === "q" ? [H, q] : t === "k" || t === "v" ? [H, kv] : [q, H];
}

/** Head widths (core of train/correspondence_head.ts headDims, repeated here so core/ does not import train/). */
function headWidths(c: VlmConfig, s: TrainPlanSettings): { h: number; o: number } {
  const d = c.hidden_size;
  return s.headShape === "app-b" ? { h: Math.floor(d / 2), o: d } : { h: 2 * s.headDEmb, o: s.headDEmb };
}

export function planTraining(c: VlmConfig, s: TrainPlanSettings, devices: readonly DeviceLimits[]): TrainPlan {
  const shapes = parameterShapes(c);
  const total = [...shapes.values()].reduce((a, x) => a + numel(x), 0);
  const L = c.num_hidden_layers, r = s.loraRank;
  const lora = L * s.loraTargets.reduce((a, t) => {
    const [i, o] = loraDims(c, t);
    return a + r * i + o * r;
  }, 0);
  const d = c.hidden_size, { h, o } = headWidths(c, s);
  const heads = s.headLayers * (h * d + h + o * h + o);
  const trainable = lora + heads;

  // Activations (f32 elements), see the file comment.
  const H = d, I = c.intermediate_size, kv = c.num_key_value_heads * headDim(c), T = s.tokens;
  const loraPerLayer = s.loraTargets.reduce((a, t) => {
    const [i, out] = loraDims(c, t);
    return a + T * (i + r + 2 * out);
  }, 0);
  const llmLayer = T * (12 * H + 6 * kv + 4 * I) + loraPerLayer;
  const v = c.vision_config, Cv = v.hidden_size, unit = v.spatial_merge_size ** 2, N = s.patches, U = N / unit;
  const vision = N * (v.in_channels * v.temporal_patch_size * v.patch_size ** 2 + 2 * Cv) +
    v.depth * N * (18 * Cv + 4 * v.intermediate_size) + N * Cv + 3 * U * unit * Cv + 2 * U * v.out_hidden_size;
  const headActs = s.headLayers * (s.visualTokens * (H + 2 * h + 2 * o) + 3 * s.pairs * s.visualTokens);
  const A = Math.min(s.answerTokens, T);
  const common = T * H * 2 + vision + headActs; // embeddings + final norm
  const actWithout = (logitRows: number) => 4 * (common + L * llmLayer + 2 * logitRows * c.vocab_size);
  const actWith = (logitRows: number) => 4 * (common + L * T * H + 2 * llmLayer + 2 * logitRows * c.vocab_size);

  const trainableState = 4 * 4 * trainable;

  const devicePlans = devices.map((dev): DevicePlan => {
    const limit = dev.maxBindingBytes;
    const stored = String((c as Record<string, unknown>).torch_dtype ?? "float32");
    const dtype = s.dtype === "auto" ? (dev.f16 && /^(bfloat16|float16)$/.test(stored) ? "f16" : "f32") : s.dtype;
    const wBytes = dtype === "f16" ? 2 : 4;
    const weights = total * wBytes;
    const buffers: PlannedBuffer[] = [];
    const add = (name: string, rows: number, rowBytes: number, splittable: boolean) => {
      const bytes = rows * rowBytes;
      let blocks = 1;
      if (bytes > limit) {
        blocks = !splittable || rowBytes > limit ? Infinity : Math.ceil(rows / Math.floor(limit / rowBytes));
      }
      const blockBytes = blocks === Infinity ? bytes : Math.ceil(rows / blocks) * rowBytes;
      buffers.push({ name, bytes, rows, rowBytes, blocks, blockBytes, splittable });
    };
    for (const [name, shape] of shapes) {
      const rowBytes = numel(shape.slice(1)) * wBytes;
      // Row-block splitting is implemented where whole-vocabulary matrices are read: the gather and the LM head.
      const splittable = name === "model.embed_tokens.weight" || name === "lm_head.weight";
      add(name, shape[0], shape.length === 1 ? wBytes : rowBytes, splittable);
    }
    const rows = A;
    // The head's row blocks give logits column blocks, concatenated: the (A, V) logits are one buffer.
    add(`logits (${A}, ${c.vocab_size}) f32 at the answer rows`, A, c.vocab_size * 4, false);
    add(`LLM MLP activation (${T}, ${I}) f32`, T, I * 4, false);
    add(`vision MLP activation (${N}, ${v.intermediate_size}) f32`, N, v.intermediate_size * 4, false);
    add(`vision qkv (${N}, ${3 * Cv}) f32`, N, 3 * Cv * 4, false);
    add(`similarities (${s.pairs}, ${s.visualTokens}) f32`, s.pairs, s.visualTokens * 4, false);
    const largest = (key: "bytes" | "blockBytes") => buffers.reduce((a, b) => (b[key] > a[key] ? b : a));
    const act = s.activationCheckpointing ? actWith(rows) : actWithout(rows);
    const totalBytes = weights + trainableState + act;
    const problems: string[] = [];
    for (const b of buffers) {
      if (b.blocks === Infinity) {
        problems.push(
          `${b.name}: ${fmtBytes(b.bytes)} in one buffer is above the ${fmtBytes(limit)} binding limit` +
            (b.splittable ? ` and one row (${fmtBytes(b.rowBytes)}) alone is too` : " and it is not split"),
        );
      }
    }
    if (dev.maxTotalBytes !== undefined && totalBytes > dev.maxTotalBytes) {
      problems.push(`total ${fmtBytes(totalBytes)} is above the device's ${fmtBytes(dev.maxTotalBytes)}`);
    }
    return {
      device: dev,
      dtype,
      weightBytes: weights,
      buffers,
      largestWhole: largest("bytes"),
      largestAfterSplit: largest("blockBytes"),
      totalBytes,
      fits: problems.length === 0,
      problems,
    };
  });

  // The device-independent activation totals: logits of all A answer rows at once.
  const fullRows = A;
  return {
    parameters: { total, trainable, lora, heads },
    bytes: {
      trainableState,
      activations: { withCheckpointing: actWith(fullRows), withoutCheckpointing: actWithout(fullRows) },
    },
    devices: devicePlans,
  };
}

/**
 * Multiply-add FLOPs (2 per weight per row) of one forward over `patches` vision patches and `tokens` LLM tokens:
 * every linear layer's weights once per row it reads (patches through the vision blocks, merged tokens through the
 * merger, tokens through the decoder), without attention scores and the LM head (the analyses skip logits).
 */
export function forwardFlops(c: VlmConfig, patches: number, tokens: number): number {
  const v = c.vision_config, unit = v.spatial_merge_size ** 2;
  let vision = 0, merger = 0, decoder = 0;
  for (const [name, shape] of parameterShapes(c)) {
    if (shape.length < 2) continue;
    const n = numel(shape);
    if (name.startsWith("visual.merger.")) merger += n;
    else if (name.startsWith("visual.")) vision += n;
    else if (name.startsWith("model.layers.")) decoder += n;
  }
  return 2 * (patches * vision + (patches / unit) * merger + tokens * decoder);
}

export function fmtBytes(b: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0, x = b;
  while (x >= 1024 && u < units.length - 1) (x /= 1024, u++);
  return `${x.toFixed(u === 0 ? 0 : 2)} ${units[u]}`;
}

function fmtCount(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${n}`;
}

/** The plan as printed by `train --plan`. */
export function formatTrainPlan(p: TrainPlan, s: TrainPlanSettings): string[] {
  const lines = [
    `parameters: ${fmtCount(p.parameters.total)} base, ${fmtCount(p.parameters.trainable)} trainable ` +
    `(LoRA ${fmtCount(p.parameters.lora)}, heads ${fmtCount(p.parameters.heads)})`,
    `trainable values + grads + AdamW m, v (f32): ${fmtBytes(p.bytes.trainableState)}`,
    `activations per item (T ${s.tokens}, ${s.visualTokens} visual, ${s.patches} patches, logits at ` +
    `${s.answerTokens} answer rows): ` +
    `${fmtBytes(p.bytes.activations.withoutCheckpointing)} without checkpointing, ` +
    `${fmtBytes(p.bytes.activations.withCheckpointing)} with`,
  ];
  for (const d of p.devices) {
    const w = d.largestWhole, a = d.largestAfterSplit;
    lines.push(
      `${d.device.name} (binding limit ${fmtBytes(d.device.maxBindingBytes)}` +
        (d.device.maxTotalBytes ? `, total ${fmtBytes(d.device.maxTotalBytes)}` : "") + `): weights ${d.dtype} ` +
        `${fmtBytes(d.weightBytes)}, total ` +
        `${fmtBytes(d.totalBytes)} (checkpointing ${s.activationCheckpointing ? "on" : "off"}); largest buffer ` +
        `${w.name} ${fmtBytes(w.bytes)}` + (w.blocks > 1 && w.blocks !== Infinity ? ` → ${w.blocks} row blocks` : "") +
        `; largest after splitting ${a.name} ${fmtBytes(a.blockBytes)}; ${d.fits ? "fits" : "does NOT fit"}`,
    );
    // Many tensors share one problem (every MLP weight of a 7B on llvmpipe): the first few, then a count.
    for (const pr of d.problems.slice(0, 4)) lines.push(`  ${pr}`);
    if (d.problems.length > 4) lines.push(`  … and ${d.problems.length - 4} more buffers the same way`);
  }
  return lines;
}
