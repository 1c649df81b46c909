/**
 * The training loop, one function read top to bottom: setup → data → schedule → loop (STYLE.md point 6).
 *
 * Stages. "base": the tiny VLM trained from scratch on general QA (all parameters, no heads, no LoRA) and saved as a
 * base model dir (model.safetensors + config.json + tokenizer.json + an ONNX export). "gasp": LoRA on W_Q/W_K/W_V/W_O
 * of a frozen base, correspondence heads on the configured layers, Eq 9 (or a baseline preset's subset of it).
 *
 * One optimizer step = gradAccum micro-batches of `batch` items each. Item i of a micro-batch is general QA when
 * i < round(batch · generalQaFraction), else a correspondence item (GASP: framesPerItem frames and their tracks;
 * sft-fair: one correspondence question as text VQA). Each item is its own forward/backward (batch 1, as the model);
 * gradients add up over items, each scaled so the step's gradient is that of
 *   L_total = mean_QA(L_LM) + λ_c · mean_corr(L_corr) + λ_d · mean_corr(L_depth)                       (Eq 9)
 * where an item's L_corr / L_depth is the mean over its head layers of that layer's Eq 5 / Eq 8 (every layer gets
 * the same weight, so adding layers does not change the loss scale), and the step's gradient is the mean over the
 * gradAccum micro-batches. Then global-norm clipping, AdamW (heads at headLrMultiplier × the LoRA rate) with the
 * cosine-with-warmup schedule.
 *
 * What trains is train/trainables.ts (per stage), Eq 9 per item is train/gasp_loss.ts, the checkpoint record
 * train/train_state.ts. Every random thing comes from three seeded streams: "init" (heads' spare units, LoRA A, base
 * init), "data" (sequence, frame and question choice), "dropout" (LoRA dropout masks). Their states go into each
 * checkpoint, so resuming replays the exact same steps.
 */
import { backward, noGrad, Rng, type Tensor, tidyAsync, zeroGrad } from "../core/runtime.ts";
import { initDevice } from "../core/device_init.ts";
import * as op from "../core/ops/mod.ts";
import type { VlmModel } from "../core/model/vlm.ts";
import { TextTokenizer } from "../core/text/tokenizer.ts";
import { readShards } from "../core/scene/shards.ts";
import type { CorrespondenceSequence } from "../core/scene/types.ts";
import { DataFormatError } from "../core/errors.ts";
import { compactObjectIds } from "../core/instruct/general.ts";
import type { TrainConfig } from "./config.ts";
import { cosineWithWarmup } from "./schedule.ts";
import type { CorrespondenceHead } from "./correspondence_head.ts";
import type { LoraAdapter, LoraHook } from "./lora.ts";
import { gaspLoss } from "./gasp_loss.ts";
import { lmLossRows } from "./losses.ts";
import { writeLossPlot } from "./loss_plot.ts";
import { itemSampler, type ModelSample } from "./samples.ts";
import { saveCheckpoint } from "./checkpoint.ts";
import { packCheckpoint, restoreCheckpoint } from "./train_state.ts";
import { exportTrained, loadStageBase, type StageBaseOptions, trainables } from "./trainables.ts";
import {
  appendConfigRecord,
  appendStepMetrics,
  formatProgressLine,
  type LossParts,
  type StepMetrics,
} from "./metrics_log.ts";
import { checkRunFolder, openRunFolder } from "./run_folder.ts";
import type { FolderLock } from "../core/io/lock.ts";

/** Where a training run reads its data and base, and where it writes. */
export interface TrainOptions extends StageBaseOptions {
  /** Run directory (metrics.jsonl, checkpoints, export/); locked while train() writes there (train/run_folder.ts). */
  out: string;
  /** A lock on `out` the caller holds (defaultPipeline, which writes pck.json after training); else train() takes one. */
  lock?: FolderLock;
  /** Resume from this run dir (its `latest`) or checkpoint dir. */
  resume?: string;
  /** Stop after this optimizer step (the schedule still spans config.steps); a checkpoint is written there. */
  maxSteps?: number;
  /** Progress lines (default console.log). */
  log?: (line: string) => void;
  /** Shard dir with the "train" split (default runs/data), unless `sequences` is given. */
  dataDir?: string;
  /** In-memory training sequences (tests). */
  sequences?: CorrespondenceSequence[];
  /** Use at most this many training sequences (the first ones). */
  maxSequences?: number;
  /** Write OUT/export (and, for stage "base", the base model files) at the end (default true). */
  exportModel?: boolean;
  /** Write OUT/loss.svg and OUT/loss.png from metrics.jsonl at the end (default true). */
  plot?: boolean;
}

/** What a finished (or stopped) run leaves in memory, for evaluation by the caller. */
export interface TrainResult {
  /** Optimizer steps done (the resumed ones included). */
  step: number;
  /** One record per step this process ran (losses, grad norm, lr, tokens, time), as in metrics.jsonl. */
  history: StepMetrics[];
  /** The model the loop ran: the trained model (stage "base") or the frozen base (stage "gasp"; LoRA in evalHook). */
  model: VlmModel;
  /** The base's tokenizer. */
  tokenizer: TextTokenizer;
  /** The base's tokenizer.json text. */
  tokenizerJson: string;
  /** Correspondence heads by LLM layer (empty when the preset trains none). */
  heads: Map<number, CorrespondenceHead>;
  /** LoRA adapters by module name (empty for stage "base"). */
  lora: Map<string, LoraAdapter>;
  /** LinearHook without dropout (evaluation), null for stage "base". */
  evalHook: LoraHook | null;
  /** OUT/export when the run finished and exported, else null. */
  exportDir: string | null;
}

/**
 * Runs one training stage (train/loop.ts's file comment walks through it): stage "base" trains the tiny VLM from
 * scratch on general QA; stage "gasp" trains LoRA and the correspondence heads of a frozen base with Eq 9. Writes
 * metrics.jsonl, checkpoints, the export and the loss curve into `opts.out`; resumes exactly from `opts.resume`.
 *
 * @example A short GASP run on shards `deno task data` wrote, over the base `deno task train` trained
 * ```ts
 * import { resolveTrainConfig, train } from "@gasp/gasp-ts";
 * const config = resolveTrainConfig({ preset: "full", overrides: { steps: 4 } });
 * const r = await train(config, { out: "runs/gasp-short", dataDir: "runs/data", baseDir: "runs/base" });
 * console.log(r.history.at(-1)?.loss); // { total, lm, corr, depth }
 * r.model.dispose();
 * ```
 */
export async function train(config: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  const log = opts.log ?? ((l: string) => console.log(l));

  // ── 1. setup: device, base model, tokenizer, trainable parameters, optimizer, resumed state ─────────────────────
  // Nothing is written to OUT until every input (base, resumed checkpoint, data) has loaded (step 3).
  if (!opts.lock) await checkRunFolder(opts.out, opts.resume); // a caller holding the lock has checked it
  await initDevice();
  const rngInit = new Rng(config.seed);
  let rngs = { data: new Rng(config.seed + 1), dropout: new Rng(config.seed + 2) };
  const base = await loadStageBase(config, opts);
  using _closeBase = { [Symbol.dispose]: () => base.close() }; // the base's files stay open until train() returns
  log(`base: ${base.description}`);
  const tokenizer = TextTokenizer.fromJson(base.tokenizerJson);
  const tHeads = performance.now();
  const t = await trainables(config, base, rngInit, rngs.dropout, !!opts.resume);
  if (config.stage === "gasp") {
    log(`frozen base: matrices stored ${t.model.weightDType} (config dtype ${config.dtype})`);
  }
  if (t.heads.size > 0) {
    log(
      opts.resume
        ? `correspondence heads (${t.heads.size} layers): restored from the checkpoint, SVD of W_Q not recomputed`
        : `correspondence heads (${t.heads.size} layers): SVD init from W_Q (model set up in ` +
          `${((performance.now() - tHeads) / 1000).toFixed(1)} s)`,
    );
  }
  const o = config.optim;
  const optimizer = new op.AdamW(t.groups, {
    beta1: o.betas[0],
    beta2: o.betas[1],
    eps: o.eps,
    weightDecay: o.weightDecay,
  });
  const params = optimizer.params;
  let step = 0;
  if (opts.resume) {
    ({ step, rngs } = await restoreCheckpoint(opts.resume, config, params, optimizer));
    if (t.trainHook) t.trainHook.dropoutRng = rngs.dropout;
  }

  // ── 2. data: training sequences (RGB frames, tracks, patch depths; per-pixel depth dropped to save memory) ───────
  const lastStep = Math.min(config.steps, opts.maxSteps ?? config.steps);
  const sequences = opts.sequences ??
    (step < lastStep ? await loadTrainSequences(opts.dataDir ?? "runs/data", opts.maxSequences) : []);
  if (sequences.length === 0 && step < lastStep) {
    throw new DataFormatError(opts.dataDir ?? "runs/data", "train", "≥ 1 sequence");
  }

  // ── 3. run folder: lock, leftovers of killed processes removed, metrics.jsonl cut to the resumed step ───────────
  await using run = await openRunFolder(opts.out, {
    resumed: opts.resume ? { path: opts.resume, step } : undefined,
    lock: opts.lock,
    log,
  });
  const metricsPath = run.metricsPath;
  if (opts.resume) log(`resumed from ${opts.resume} at step ${step}`);
  await appendConfigRecord(metricsPath, config);

  const nextItem = itemSampler(config, base.config, tokenizer, sequences, rngs.data);
  const nQa = Math.round(config.batch * config.data.generalQaFraction);

  // ── 4. schedule: cosine with linear warmup over config.steps optimizer steps ─────────────────────────────────────
  const lrAt = (s: number) =>
    cosineWithWarmup(s, {
      peakLr: o.lr,
      totalSteps: config.steps,
      warmupFraction: o.warmupFraction,
      minLrRatio: o.minLrRatio,
    });

  // ── 5. loop ─────────────────────────────────────────────────────────────────────────────────────────────────────
  const history: StepMetrics[] = [];
  const t0 = performance.now();
  let tokensSinceStart = 0, stepsSinceStart = 0;
  while (step < lastStep) {
    const ts = performance.now();
    const lr = lrAt(step);
    // 5.1 draw the step's items (all micro-batches) so data order does not depend on anything numeric
    const micro: ModelSample[][] = Array.from(
      { length: o.gradAccum },
      () => Array.from({ length: config.batch }, (_, i) => nextItem(i < nQa ? "qa" : "corr")),
    );
    // 5.2 forward + backward per item (Eq 9, each item weighted by its share of the step's means); grads add up
    const sums = { lm: 0, corr: 0, depth: 0 }, counts = { lm: 0, corr: 0 };
    let tokens = 0;
    for (const items of micro) {
      const nLm = items.filter((s) => s.targets).length, nCorr = items.filter((s) => s.corr).length;
      const weights = { lmWeight: 1 / (nLm * o.gradAccum), corrWeight: 1 / (nCorr * o.gradAccum) };
      for (const item of items) {
        tokens += item.inputIds.length;
        t.trainHook?.nextStep();
        const v = await tidyAsync(async () => {
          // Logits only at the answer positions L_LM reads: never (T, V) over the whole vocabulary.
          const lm = item.targets ? lmLossRows(item.targets) : null;
          const out = t.model.forward({ inputIds: item.inputIds, images: item.images }, {
            capture: {
              hidden: !!item.corr && t.heads.size > 0 && config.head.input === "block",
              attn: !!item.corr && t.heads.size > 0 && config.head.input === "attention",
            },
            linearHook: t.trainHook?.hook,
            checkpointLayers: config.activationCheckpointing,
            logits: lm ? lm.rows : false,
          });
          const l = gaspLoss(out, { ...item, targets: lm?.targets ?? null }, t.heads, { ...config.loss, ...weights });
          if (l.total) backward(l.total);
          const value = async (x: Tensor | null) => (x ? await x.item() : null);
          return { lm: await value(l.lm), corr: await value(l.corr), depth: await value(l.depth) };
        });
        if (v.lm !== null) (sums.lm += v.lm, counts.lm++);
        if (v.corr !== null) (sums.corr += v.corr, sums.depth += v.depth ?? 0, counts.corr++);
      }
    }
    t.trainHook?.nextStep();
    // 5.3 clip, update, clear
    const gradNorm = await noGrad(() => op.clipGradNorm(params, o.clip));
    optimizer.step(lr / o.lr);
    zeroGrad(params);
    step++;
    // 5.4 log: the step's L_total (Eq 9) from its mean terms
    const lm = counts.lm ? sums.lm / counts.lm : 0;
    const corr = counts.corr ? sums.corr / counts.corr : 0;
    const depth = counts.corr ? sums.depth / counts.corr : 0;
    const loss: LossParts = { total: lm + config.loss.lambdaC * corr + config.loss.lambdaD * depth, lm, corr, depth };
    const now = performance.now();
    tokensSinceStart += tokens;
    stepsSinceStart++;
    const elapsedS = (now - t0) / 1000;
    const m: StepMetrics = { step, loss, gradNorm, lr, tokens, stepTimeS: (now - ts) / 1000, elapsedS };
    history.push(m);
    await appendStepMetrics(metricsPath, m);
    log(formatProgressLine({ step, totalSteps: config.steps, loss, lr, tokensSinceStart, stepsSinceStart, elapsedS }));
    // 5.5 checkpoint (every checkpointEvery steps and where this process stops)
    if (step % config.checkpointEvery === 0 || step === lastStep) {
      await saveCheckpoint(
        opts.out,
        await packCheckpoint({ step, config, base: base.ref, params, optimizer, rngs }),
      );
    }
  }

  // ── 6. export: merged head-free model (GASP) or the base model files (stage base) ─────────────────────────────────
  let exportDir: string | null = null;
  if ((opts.exportModel ?? true) && step >= config.steps) {
    exportDir = await exportTrained(t, base, opts.out);
    log(`exported the ${t.writesModelFolder ? "base" : "merged head-free"} model to ${exportDir}`);
  }
  // ── 7. loss curve: OUT/loss.svg and OUT/loss.png from metrics.jsonl ─────────────────────────────────────────────
  if (opts.plot ?? true) {
    const p = await writeLossPlot(opts.out, `${config.preset} · stage ${config.stage}`);
    log(`loss curve: ${p.files.join(", ")}${p.pngError ? ` (no PNG: ${p.pngError})` : ""}`);
  }
  const { model, heads, lora, evalHook } = t;
  return {
    step,
    history,
    model,
    tokenizer,
    tokenizerJson: base.tokenizerJson,
    heads,
    lora,
    evalHook,
    exportDir,
  };
}

/** Reads the "train" split, dropping per-pixel depth and object ids (training uses RGB, tracks and patch depths). */
export async function loadTrainSequences(dir: string, max?: number): Promise<CorrespondenceSequence[]> {
  const out: CorrespondenceSequence[] = [];
  for await (const seq of readShards(dir, "train")) {
    for (const f of seq.frames) {
      f.depth = new Float32Array(0);
      compactObjectIds(f); // the general data needs only the per-object pixel counts
    }
    out.push(seq);
    if (max !== undefined && out.length >= max) break;
  }
  return out;
}
