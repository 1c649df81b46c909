/**
 * TrainConfig: one typed object for a training run. Defaults live in DEFAULT_TRAIN_CONFIG with a why-comment each;
 * presets are JSON files in train/presets/ (the paper's comparisons); a config file and CLI flags override them.
 * Resolution: defaults ← preset ← config file ← CLI, deep-merged, then validated by zod with strict objects, so an
 * unknown key or a wrong type anywhere is a ConfigError naming its path. The resolved config is saved in every
 * checkpoint and at the top of metrics.jsonl.
 */
import { z } from "zod";
import { ConfigError } from "../core/errors.ts";
import corrOnlyPreset from "./presets/corr-only.json" with { type: "json" };
import fullPreset from "./presets/full.json" with { type: "json" };
import sftFairPreset from "./presets/sft-fair.json" with { type: "json" };
import sftGeneralPreset from "./presets/sft-general.json" with { type: "json" };

/**
 * The paper's comparisons (train/presets/*.json): "sft-general" (general QA only), "sft-fair" (the same
 * correspondence data as text QA), "corr-only" (heads with L_corr + L_depth, no QA), "full" (GASP, Eq 9).
 */
export const PRESET_NAMES = ["sft-general", "sft-fair", "corr-only", "full"] as const;
/** One of {@linkcode PRESET_NAMES}. */
export type PresetName = (typeof PRESET_NAMES)[number];

const posInt = z.number().int().positive();
const nonNeg = z.number().nonnegative();

/** "all" or an inclusive 0-based range "A-B" of LLM layers that get a correspondence head. */
const LayerSpec = z.union([z.literal("all"), z.string().regex(/^\d+-\d+$/, 'expected "all" or "A-B", e.g. "1-3"')]);

export const TrainConfigSchema = z.strictObject({
  preset: z.enum(PRESET_NAMES),
  stage: z.enum(["gasp", "base"]),
  model: z.string().min(1),
  data: z.strictObject({
    correspondence: z.enum(["heads", "text-vqa", "none"]),
    generalQaFraction: z.number().min(0).max(1),
    framesPerItem: z.number().int().min(2),
    // A default, so configs saved before the field existed (checkpoints) still parse.
    framePositions: z.enum(["images", "video"]).default("images"),
  }),
  lora: z.strictObject({
    rank: posInt,
    alpha: z.number().positive(),
    dropout: z.number().min(0).lt(1),
    targets: z.array(z.enum(["q", "k", "v", "o"])).min(1),
    vision: z.boolean().default(false),
  }),
  head: z.strictObject({
    shape: z.enum(["app-b", "sec-4"]),
    dEmb: posInt,
    layers: LayerSpec,
    gelu: z.enum(["erf", "tanh"]),
    input: z.enum(["block", "attention"]).default("block"),
  }),
  loss: z.strictObject({
    lambdaC: nonNeg,
    lambdaD: nonNeg,
    tau: z.number().positive(),
    eps: z.number().positive(),
    negatives: z.enum(["target-frame", "all-frames"]),
  }),
  optim: z.strictObject({
    lr: z.number().positive(),
    headLrMultiplier: z.number().positive(),
    weightDecay: nonNeg,
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]),
    eps: z.number().positive(),
    clip: z.number().positive(),
    warmupFraction: z.number().min(0).max(1),
    minLrRatio: z.number().min(0).max(1),
    gradAccum: posInt,
  }),
  steps: posInt,
  batch: posInt,
  seed: z.number().int().nonnegative(),
  checkpointEvery: posInt,
  activationCheckpointing: z.boolean(),
  dtype: z.enum(["auto", "f32", "f16"]),
}).superRefine((c, ctx) => {
  if (c.data.correspondence !== "heads" && (c.loss.lambdaC > 0 || c.loss.lambdaD > 0)) {
    ctx.addIssue({
      code: "custom",
      path: ["loss"],
      message:
        `lambdaC/lambdaD must be 0 when data.correspondence is "${c.data.correspondence}" (no heads to supervise)`,
    });
  }
  if (c.data.correspondence === "heads" && c.loss.lambdaC === 0 && c.loss.lambdaD === 0) {
    ctx.addIssue({
      code: "custom",
      path: ["loss"],
      message: 'heads with lambdaC = lambdaD = 0 train nothing; use preset "sft-general" instead',
    });
  }
  if (c.stage === "base" && c.data.correspondence !== "none") {
    ctx.addIssue({
      code: "custom",
      path: ["data", "correspondence"],
      message: 'must be "none" for stage "base" (the base trains on general QA only; GASP runs add the rest)',
    });
  }
  if (c.data.correspondence === "none" && c.data.generalQaFraction !== 1) {
    ctx.addIssue({
      code: "custom",
      path: ["data", "generalQaFraction"],
      message: 'must be 1 when correspondence is "none"',
    });
  }
});

/** Where correspondence supervision comes from and how batches mix it with general QA (App. B). */
export interface DataConfig {
  /** "heads": tracks supervise the correspondence heads (GASP); "text-vqa": correspondence as text QA; "none". */
  correspondence: "heads" | "text-vqa" | "none";
  /** Share of each batch that is general QA (the rest: correspondence items). */
  generalQaFraction: number;
  /** Frames per correspondence item (≥ 2). */
  framesPerItem: number;
  /**
   * M-RoPE layout of a prompt's frames: "images" (each its own image block: own t and h/w offsets) or "video" (one
   * video: shared h/w ids, one temporal index per frame); core/model/rope_index.ts. Applies to every forward of the
   * run's model (training, analysis, the export's config.json `frame_positions`).
   */
  framePositions: "images" | "video";
}

/** LoRA on the attention projections: W + (α/r)·B·A (App. B). */
export interface LoraConfig {
  /** Rank r. */
  rank: number;
  /** Scale numerator α (scaling α/r). */
  alpha: number;
  /** Dropout on the adapter input, in [0, 1). */
  dropout: number;
  /** Which of W_Q, W_K, W_V, W_O get an adapter. */
  targets: ("q" | "k" | "v" | "o")[];
  /** Also adapt the vision blocks' attention (visual.blocks.{l}.attn.qkv and attn.proj) at the same rank. */
  vision: boolean;
}

/** The per-layer correspondence head H_c (Eq 4, App. B). */
export interface HeadConfig {
  /** "app-b": d → d/2 → d; "sec-4": d → 2·dEmb → dEmb. */
  shape: "app-b" | "sec-4";
  /** Embedding width of the "sec-4" shape. */
  dEmb: number;
  /** "all" or an inclusive 0-based range "A-B" of LLM layers. */
  layers: string;
  /** GELU form: exact ("erf") or the tanh approximation. */
  gelu: "erf" | "tanh";
  /** What the head embeds: the layer's output V^(l) ("block", Eq 4) or its attention sublayer's output alone. */
  input: "block" | "attention";
}

/** Weights and parameters of L_total = L_LM + λ_c·L_corr + λ_d·L_depth (Eq 5-9). */
export interface LossConfig {
  /** λ_c (Eq 9). */
  lambdaC: number;
  /** λ_d (Eq 9). */
  lambdaD: number;
  /** InfoNCE temperature τ (Eq 5). */
  tau: number;
  /** ε of the depth-consistency loss (Eq 8). */
  eps: number;
  /** Eq 5's negatives: the target frame's other patches, or the patches of all frames. */
  negatives: "target-frame" | "all-frames";
}

/** AdamW, the cosine-with-warmup schedule, clipping and accumulation (Sec 5.1, App. B). */
export interface OptimConfig {
  /** Peak learning rate (LoRA and, for stage "base", every weight). */
  lr: number;
  /** Correspondence heads train at this multiple of lr. */
  headLrMultiplier: number;
  /** Decoupled weight decay. */
  weightDecay: number;
  /** AdamW (β1, β2). */
  betas: [number, number];
  /** AdamW ε. */
  eps: number;
  /** Global gradient-norm clip. */
  clip: number;
  /** Share of the steps spent in linear warmup. */
  warmupFraction: number;
  /** Final lr as a share of the peak. */
  minLrRatio: number;
  /** Micro-batches per optimizer step. */
  gradAccum: number;
}

/**
 * One training run's configuration: validated by `TrainConfigSchema`, its defaults (each with the reason
 * for its value) in {@linkcode DEFAULT_TRAIN_CONFIG}, resolved by {@linkcode resolveTrainConfig}.
 */
export interface TrainConfig {
  /** Which of the paper's comparisons this run is (train/presets/). */
  preset: PresetName;
  /** "gasp": LoRA + heads on a frozen base; "base": the tiny VLM from scratch on general QA. */
  stage: "gasp" | "base";
  /** "tiny" (the embedded default) or a base model path. */
  model: string;
  /** Data mix. */
  data: DataConfig;
  /** LoRA adapter. */
  lora: LoraConfig;
  /** Correspondence heads. */
  head: HeadConfig;
  /** Loss weights and parameters. */
  loss: LossConfig;
  /** Optimizer and schedule. */
  optim: OptimConfig;
  /** Optimizer steps the schedule spans. */
  steps: number;
  /** Items per micro-batch. */
  batch: number;
  /** Seed of every random stream. */
  seed: number;
  /** Write a checkpoint every this many steps (and at the last). */
  checkpointEvery: number;
  /** Recompute each decoder layer in backward (App. B's gradient checkpointing). */
  activationCheckpointing: boolean;
  /** Storage precision: "auto" picks f16 where the adapter has shader-f16. */
  dtype: "auto" | "f32" | "f16";
}

/** Compile-time proof that the interface above and the schema describe the same object (neither can drift). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const _schemaMatchesInterface: Same<z.infer<typeof TrainConfigSchema>, TrainConfig> = true;
void _schemaMatchesInterface;

/** The defaults every run starts from (the no-flag `deno task train`); each value's comment says why. */
export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  // The paper's method with both geometric losses (Eq 9) is what `deno task train` runs with no flags.
  preset: "full",
  // "gasp" fine-tunes an existing base; "base" trains the tiny base VLM from scratch on general QA (issue 6 item 6).
  stage: "gasp",
  // The embedded tiny Qwen2.5-VL-shaped model (core/model TINY_CONFIG); a directory path selects another base.
  model: "tiny",
  data: {
    // GASP supervises the heads with tracks; the baselines use text VQA ("text-vqa") or nothing ("none").
    correspondence: "heads",
    // Half of each batch is general QA so the LM keeps its language (App. B mixes LLaVA-Video-178K in).
    generalQaFraction: 0.5,
    // Frames per correspondence item (frame 0 + random others of the sequence, each a separate image). The paper uses
    // 8-24. It must match the frames per forward of the held-out analysis (8): each frame slot has its own M-RoPE
    // offset, and LoRA trained on 3-frame prompts left the slots it never saw untrained; measured on the same run,
    // its heads scored 46-60 % PCK@2 on 3-frame held-out prompts but 16-20 % on the 8-frame ones.
    framesPerItem: 8,
    // Separate images, as Qwen2.5-VL's processor lays out an image list (and as the benchmarks' multi-image items
    // arrive). "video" (shared h/w ids, one temporal index per frame) is issue 13's candidate cause (a).
    framePositions: "images",
  },
  lora: {
    // Paper: r = 128 for d = 3584 (r/d ≈ 1/28). The tiny model (d = 128) gets r = 16 (1/8): at r = 4 the QK change
    // GASP needs barely fits, and the adapter is still small next to the 128×128 projections.
    rank: 16,
    // α = 2r (scaling 2), the common LoRA choice; keeps the adapter's effective LR independent of r when r changes.
    alpha: 32,
    // Light regularisation on the adapter input, PEFT's usual 0.05; the base path is never dropped.
    dropout: 0.05,
    // App. B: attention projections only.
    targets: ["q", "k", "v", "o"],
    // App. B adapts the LLM only; the vision tower stays frozen (issue 13 candidate (d) turns its attention on).
    vision: false,
  },
  head: {
    // App. B's shape is the one the paper specifies for reproduction (d → d/2 → d).
    shape: "app-b",
    // Only used by "sec-4": 2·dEmb = 64 = d/2 hidden units for the tiny d = 128, the same hidden width as app-b,
    // so the two shapes differ only in output width.
    dEmb: 32,
    // Sec 5.1: a head on every LLM layer.
    layers: "all",
    // The paper says "GELU"; torch nn.GELU() (and core/ops gelu) default to the exact erf form.
    gelu: "erf",
    // Eq 4: H_c(V^(l)), the layer's output hidden states. "attention" (the attention sublayer's output alone) is
    // issue 13's candidate cause (b): V^(l) carries the residual stream, so a head can match without Q/K changing.
    input: "block",
  },
  loss: {
    // App. B: λ_c = 0.3.
    lambdaC: 0.3,
    // App. B: λ_d = 1.0.
    lambdaD: 1.0,
    // Not given by the paper; 0.07 is the MoCo/CLIP InfoNCE temperature (see train/reference/losses.ts).
    tau: 0.07,
    // Eq 8's ε: only guards d + d̂ = 0; depths are metres ≥ ~0.1, so 1e-6 never changes a real term.
    eps: 1e-6,
    // Eq 5 as written (negatives = the target frame's other patches); "all-frames" is Sec 5.1's variant.
    negatives: "target-frame",
  },
  optim: {
    // Paper peak 1e-4 for a 7B model; a 128-wide model with ~1/30 of the steps tolerates and needs a higher rate.
    // Measured on the no-flag setup (8-frame items): 5e-4 → heads 42.8 % PCK@2 (90 steps, 3-frame items), 2e-3 →
    // 54.0 % (90 steps), 3e-3 → 55.8 % (120 steps), and held-out QA L_LM improved at both higher rates.
    lr: 3e-3,
    // Sec 5.1: 4x higher rate for the correspondence head.
    headLrMultiplier: 4,
    // Mild decoupled decay on LoRA and head weights (none on head biases), HF's usual 0.01.
    weightDecay: 0.01,
    // torch AdamW defaults; β2 = 0.999 is fine for runs of hundreds of steps with warmup.
    betas: [0.9, 0.999],
    // torch AdamW default; f32 moments never underflow it.
    eps: 1e-8,
    // Sec 5.1: gradient norm clipping at 1.0.
    clip: 1.0,
    // App. B: 10 % warmup.
    warmupFraction: 0.1,
    // Cosine to zero, as HF's cosine schedule that the paper's recipe uses.
    minLrRatio: 0,
    // One micro-batch per step on the tiny model; raise to emulate larger batches on small GPUs.
    gradAccum: 1,
  },
  // Sized so `deno task train` (data + base + sft-general + GASP + PCK before/after) fits its 20-minute budget on
  // this 2-core machine. Measured 2026-12-02 on the WASM backend under other engineers' load (load average 5-7):
  // data 95 s, base 900 steps 397 s, sft-general 120 steps 40 s, GASP 120 steps 61 s (0.5 s a step of an 8-frame item
  // and a QA item), PCK and L_LM before/after 24 s: 10 min 36 s in all. Tune with --max-steps.
  steps: 120,
  // 2 items per step: one correspondence sequence + one QA sample at generalQaFraction 0.5.
  batch: 2,
  // Every random thing (init, data order, dropout) derives from this seed.
  seed: 0,
  // Three checkpoints over a default run: resume loses at most a third of the run.
  checkpointEvery: 40,
  // App. B uses gradient checkpointing (recompute each layer in backward, activation memory of one layer). Off by
  // default here: the tiny model's activations are a few MB, and recompute costs ~30 % of the step time on llvmpipe
  // (6 s vs 8 s per step), which the 20-minute budget cannot spare. --set activationCheckpointing=true turns it on.
  activationCheckpointing: false,
  // Storage of the frozen base's matrices (compute is f32): auto keeps a bf16/f16 checkpoint in f16 (half the memory;
  // the paper trains in bf16 mixed precision) and an f32 one (our tiny base) in f32 (core/model/device_weights.ts).
  dtype: "auto",
};

/** A preset file: a description and a partial config merged over the defaults. */
const PresetFileSchema = z.strictObject({ description: z.string(), overrides: z.record(z.string(), z.unknown()) });

const PRESET_FILES: Record<PresetName, unknown> = {
  "sft-general": sftGeneralPreset,
  "sft-fair": sftFairPreset,
  "corr-only": corrOnlyPreset,
  full: fullPreset,
};

/** A preset's description and the partial config it merges over the defaults. */
export function presetOverrides(name: PresetName): { description: string; overrides: Record<string, unknown> } {
  const r = PresetFileSchema.safeParse(PRESET_FILES[name]);
  if (!r.success) throw new ConfigError(`preset ${name}`, r.error.issues.map((i) => i.message).join("; "));
  return r.data;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep merge of JSON objects (arrays and scalars replace); keys unknown to the base are kept for zod to reject. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

/** Validates a full config object (e.g. from a checkpoint); ConfigError lists every problem by path. */
export function parseTrainConfig(raw: unknown, where = "train config"): TrainConfig {
  const r = TrainConfigSchema.safeParse(raw);
  if (!r.success) {
    const problems = r.error.issues.map((i) => {
      const path = i.path.map(String).join(".") || "(root)";
      const keys = "keys" in i && Array.isArray(i.keys) ? ` (${i.keys.join(", ")})` : "";
      return `${path}: ${i.message}${keys}`;
    });
    throw new ConfigError(where, problems.join("; "));
  }
  return r.data;
}

/** The layers {@linkcode resolveTrainConfig} merges over the defaults, in order. */
export interface ResolveOptions {
  /** Preset name (default: the config file's `preset`, else "full"). */
  preset?: string;
  /** Parsed JSON of --config FILE (a partial TrainConfig). */
  configFile?: unknown;
  /** CLI overrides (a partial TrainConfig, as produced by trainOverrides in train/command.ts). */
  overrides?: Record<string, unknown>;
}

/**
 * defaults ← preset ← config file ← CLI overrides, validated: a ConfigError names every unknown key or bad value.
 *
 * @example A GASP run of 40 steps at rank 8
 * ```ts
 * import { resolveTrainConfig } from "@gasp/gasp-ts";
 * const config = resolveTrainConfig({ preset: "full", overrides: { steps: 40, lora: { rank: 8, alpha: 16 } } });
 * console.log(config.loss.lambdaC, config.optim.lr);
 * ```
 */
export function resolveTrainConfig(o: ResolveOptions = {}): TrainConfig {
  const fileObj = o.configFile ?? {};
  if (!isPlainObject(fileObj)) throw new ConfigError("--config", "the file must hold a JSON object");
  const presetName = o.preset ?? (typeof fileObj.preset === "string" ? fileObj.preset : DEFAULT_TRAIN_CONFIG.preset);
  if (!(PRESET_NAMES as readonly string[]).includes(presetName)) {
    throw new ConfigError("preset", `unknown preset "${presetName}"; choose one of ${PRESET_NAMES.join(", ")}`);
  }
  const preset = presetOverrides(presetName as PresetName);
  let merged = deepMerge(DEFAULT_TRAIN_CONFIG, preset.overrides);
  merged = deepMerge(merged, { ...fileObj, preset: presetName });
  merged = deepMerge(merged, o.overrides ?? {});
  return parseTrainConfig(merged);
}

/** Inclusive 0-based layer indices of a head.layers spec for a model with numLayers LLM layers. */
export function resolveHeadLayers(spec: string, numLayers: number): number[] {
  if (spec === "all") return [...Array(numLayers).keys()];
  const m = /^(\d+)-(\d+)$/.exec(spec);
  if (!m) throw new ConfigError("head.layers", `expected "all" or "A-B", got "${spec}"`);
  const a = Number(m[1]);
  const b = Number(m[2]);
  if (a > b || b >= numLayers) {
    throw new ConfigError("head.layers", `range ${spec} must satisfy 0 ≤ A ≤ B < ${numLayers} (the model's layers)`);
  }
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

/**
 * The config of `--stage base`: the tiny VLM from scratch on general QA only. Every parameter trains (no LoRA, no
 * heads), so it needs a far higher rate than LoRA fine-tuning; it never sees tracks, so it has no correspondence
 * ability beyond what the LM objective gives it (the paper's baselines). Overrides (a partial TrainConfig) go last.
 */
export function resolveBaseConfig(overrides: Record<string, unknown> = {}): TrainConfig {
  return resolveTrainConfig({
    preset: "sft-general",
    overrides: deepMerge({
      stage: "base",
      // Enough to answer every benchmark in its harness format (issue 13 item 4). Measured with `deno task bench
      // --per-suite 300 --log-samples`: at 60 steps the base answered "(B)" to everything, numeric counting questions
      // included (0 % there); at 900 steps (~3.7 min at 1 thread on this shared machine, ~0.2 s a step) every one of
      // the 1800 answers parsed in format (counting with digits), so no suite scored below its majority baseline by
      // more than noise. No general item is spatial, so beyond the format the spatial suites stay at chance.
      // In the no-flag run (2 threads, load 5-7) the 900 steps took 397 s.
      steps: 900,
      // 2 single-image QA items per step: one ~110-token forward each.
      batch: 2,
      // From scratch with all parameters: 3e-3 with warmup is stable for a 4-layer, 128-wide model.
      optim: { lr: 3e-3, weightDecay: 0.01 },
      // Nothing to save at this size; recompute would cost ~30 % more time.
      activationCheckpointing: false,
      // Three checkpoints: a killed base run resumes losing at most a third.
      checkpointEvery: 300,
    }, overrides) as Record<string, unknown>,
  });
}

/**
 * The sft-general control of a GASP run (Sec 5.2's "SFT on general data"): preset "sft-general" (the same general
 * instruction data, no correspondence items, no geometric loss) with everything else of `config` (steps, batch, seed,
 * LoRA, optimizer, schedule), so the two runs differ only in what GASP adds. `deno task bench` pairs GASP against it.
 */
export function sftGeneralControlConfig(config: TrainConfig): TrainConfig {
  const { preset: _p, data: _d, loss: _l, ...rest } = config;
  return resolveTrainConfig({ preset: "sft-general", overrides: rest as unknown as Record<string, unknown> });
}
