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
 * Every random thing comes from three seeded streams: "init" (heads' spare units, LoRA A, base init), "data"
 * (sequence, frame and question choice), "dropout" (LoRA dropout masks). Their states go into each checkpoint, so
 * resuming replays the exact same steps.
 */
import { join } from "node:path";
import { backward, noGrad, Rng, Tensor, tidyAsync, zeroGrad } from "../core/runtime.ts";
import { initDevice } from "../core/device_init.ts";
import * as op from "../core/ops/mod.ts";
import { parseVlmConfig, TINY_CONFIG, type VlmConfig } from "../core/model/config.ts";
import { initParameters, parameterShapes, type Weights } from "../core/model/init.ts";
import { VlmModel } from "../core/model/vlm.ts";
import { exportHeadFreeModel } from "../core/model/export_onnx.ts";
import { buildTinyTokenizerJson } from "../core/text/build_tokenizer.ts";
import { TextTokenizer } from "../core/text/tokenizer.ts";
import { readShards } from "../core/scene/shards.ts";
import type { CorrespondenceSequence } from "../core/scene/types.ts";
import { writeFileAtomic } from "../core/io/atomic.ts";
import { ConfigError, DataFormatError } from "../core/errors.ts";
import { resolveHeadLayers, type TrainConfig } from "./config.ts";
import { cosineWithWarmup } from "./schedule.ts";
import { createHeads, type GpuHead, headForward, headParams } from "./heads.ts";
import { createLoraAdapters, type GpuLora, LoraHook, loraParams, mergeLoraIntoWeights } from "./lora_gpu.ts";
import {
  buildPairTensors,
  depthConsistencyLoss,
  disposePairTensors,
  infoNceLoss,
  lmLoss,
  pairSimilarities,
  type PairTensors,
} from "./losses.ts";
import { chooseFrames, correspondenceSample, fairQaSample, generalQaSample, type ModelSample } from "./samples.ts";
import { latestCheckpointDir, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import type { NamedTensor } from "./safetensors.ts";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
import {
  appendConfigRecord,
  appendStepMetrics,
  formatProgressLine,
  type LossParts,
  type StepMetrics,
  truncateMetricsAfter,
} from "./metrics_log.ts";
import type { LoraTarget } from "./lora.ts";

export interface TrainOptions {
  /** Run directory (metrics.jsonl, checkpoints, export/). */
  out: string;
  /** Resume from this run dir (its `latest`) or checkpoint dir. */
  resume?: string;
  /** Stop after this optimizer step (the schedule still spans config.steps); a checkpoint is written there. */
  maxSteps?: number;
  log?: (line: string) => void;
  /** Shard dir with the "train" split (default runs/data), unless `sequences` is given. */
  dataDir?: string;
  /** In-memory training sequences (tests). */
  sequences?: CorrespondenceSequence[];
  /** Use at most this many training sequences (the first ones). */
  maxSequences?: number;
  /** Base model dir for stage "gasp" (default runs/base). */
  baseDir?: string;
  /** Architecture for stage "base" (default TINY_CONFIG) and its tokenizer.json (default the tiny tokenizer). */
  modelConfig?: VlmConfig;
  tokenizerJson?: string;
  /** Write OUT/export (and, for stage "base", the base model files) at the end (default true). */
  exportModel?: boolean;
}

/** What a finished (or stopped) run leaves in memory, for evaluation by the caller. */
export interface TrainResult {
  step: number;
  history: StepMetrics[];
  model: VlmModel;
  tokenizer: TextTokenizer;
  tokenizerJson: string;
  baseWeights: Weights;
  heads: Map<number, GpuHead>;
  lora: Map<string, GpuLora>;
  /** LinearHook without dropout (evaluation), null for stage "base". */
  evalHook: LoraHook | null;
  exportDir: string | null;
}

/** File names of a base model dir. */
export const BASE_FILES = { weights: "model.safetensors", config: "config.json", tokenizer: "tokenizer.json" };

export async function train(config: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const isBase = config.stage === "base";
  const useHeads = !isBase && config.data.correspondence === "heads";

  // ── 1. setup: device, base model, tokenizer, trainable parameters, optimizer ────────────────────────────────────
  await initDevice();
  const rngInit = new Rng(config.seed);
  let rngData = new Rng(config.seed + 1);
  let rngDrop = new Rng(config.seed + 2);
  let modelConfig: VlmConfig, baseWeights: Weights, tokenizerJson: string;
  if (isBase) {
    modelConfig = opts.modelConfig ?? TINY_CONFIG;
    baseWeights = initParameters(modelConfig, config.seed);
    tokenizerJson = opts.tokenizerJson ?? buildTinyTokenizerJson(0);
  } else {
    ({ modelConfig, baseWeights, tokenizerJson } = await loadBaseModel(opts.baseDir ?? "runs/base"));
  }
  const tokenizer = TextTokenizer.fromJson(tokenizerJson);
  const model = new VlmModel(modelConfig, baseWeights, { trainable: isBase });
  const allLayers = [...Array(modelConfig.num_hidden_layers).keys()];
  const headLayers = useHeads ? resolveHeadLayers(config.head.layers, modelConfig.num_hidden_layers) : [];
  const heads = useHeads
    ? createHeads(baseWeights, modelConfig.hidden_size, headLayers, config.head, rngInit)
    : new Map<number, GpuHead>();
  const loraSetup = { ...config.lora, targets: config.lora.targets as LoraTarget[] };
  const lora = isBase
    ? new Map<string, GpuLora>()
    : createLoraAdapters(baseWeights, parameterShapes(modelConfig), allLayers, loraSetup, rngInit);
  const trainHook = isBase ? null : new LoraHook(lora, loraSetup, rngDrop);
  const o = config.optim;
  const isNoDecay = (t: Tensor) => t.rank === 1; // biases and norm gains
  const groups = isBase
    ? [
      { params: [...model.params.values()].filter((t) => !isNoDecay(t)), lr: o.lr },
      { params: [...model.params.values()].filter(isNoDecay), lr: o.lr, weightDecay: 0 },
    ]
    : [
      { params: loraParams(lora), lr: o.lr },
      { params: headParams(heads).filter((t) => !isNoDecay(t)), lr: o.lr * o.headLrMultiplier },
      { params: headParams(heads).filter(isNoDecay), lr: o.lr * o.headLrMultiplier, weightDecay: 0 },
    ].filter((g) => g.params.length > 0);
  const optimizer = new op.AdamW(groups, {
    beta1: o.betas[0],
    beta2: o.betas[1],
    eps: o.eps,
    weightDecay: o.weightDecay,
  });
  const params = optimizer.params;
  const baseRef = { model: isBase ? "tiny-from-scratch" : (opts.baseDir ?? "runs/base") };

  let step = 0;
  const metricsPath = join(opts.out, "metrics.jsonl");
  await Deno.mkdir(opts.out, { recursive: true });
  if (opts.resume) {
    const ck = await loadCheckpoint(opts.resume);
    if (JSON.stringify(ck.config) !== JSON.stringify(config)) {
      throw new ConfigError("--resume", `checkpoint config differs from this run's config; resume with the same flags`);
    }
    for (const p of params) {
      const t = ck.adapters.get(p.name);
      if (!t || t.data.length !== p.size) throw new DataFormatError(opts.resume, p.name, `${p.size} values`);
      p.write(t.data);
    }
    const steps = (ck.extra?.optimizerSteps as number[] | undefined) ?? params.map(() => ck.optimizer.step);
    optimizer.importState({
      names: params.map((p) => p.name),
      steps,
      m: params.map((p) => Float32Array.from(ck.optimizer.expAvg.get(p.name)?.data ?? new Float32Array(p.size))),
      v: params.map((p) => Float32Array.from(ck.optimizer.expAvgSq.get(p.name)?.data ?? new Float32Array(p.size))),
    });
    rngData = Rng.fromState(ck.rng.data);
    rngDrop = Rng.fromState(ck.rng.dropout);
    if (trainHook) trainHook.dropoutRng = rngDrop;
    step = ck.step;
    await truncateMetricsAfter(metricsPath, step).catch(() => {});
    log(`resumed from ${opts.resume} at step ${step}`);
  }
  await appendConfigRecord(metricsPath, config);

  // ── 2. data: training sequences (RGB frames, tracks, patch depths; per-pixel depth dropped to save memory) ───────
  const lastStep = Math.min(config.steps, opts.maxSteps ?? config.steps);
  const sequences = opts.sequences ??
    (step < lastStep ? await loadTrainSequences(opts.dataDir ?? "runs/data", opts.maxSequences) : []);
  if (sequences.length === 0 && step < lastStep) {
    throw new DataFormatError(opts.dataDir ?? "runs/data", "train", "≥ 1 sequence");
  }
  const nQa = isBase ? config.batch : Math.round(config.batch * config.data.generalQaFraction);
  const nextItem = (kind: "qa" | "corr"): ModelSample => {
    for (let tries = 0; tries < 100; tries++) {
      const seq = sequences[rngData.int(sequences.length)];
      let s: ModelSample | null = null;
      if (kind === "qa" || config.data.correspondence === "none") {
        s = generalQaSample(modelConfig, tokenizer, seq, rngData);
      } else if (config.data.correspondence === "text-vqa") s = fairQaSample(modelConfig, tokenizer, seq, rngData);
      else {
        s = correspondenceSample(modelConfig, tokenizer, seq, chooseFrames(seq, config.data.framesPerItem, rngData));
        if (s.corr!.pairs.length === 0) s = null;
      }
      if (s) return s;
    }
    throw new DataFormatError("training data", kind, "sequences that yield items (scenes with QA, visible tracks)");
  };

  // ── 3. schedule: cosine with linear warmup over config.steps optimizer steps ─────────────────────────────────────
  const lrAt = (s: number) =>
    cosineWithWarmup(s, {
      peakLr: o.lr,
      totalSteps: config.steps,
      warmupFraction: o.warmupFraction,
      minLrRatio: o.minLrRatio,
    });

  // ── 4. loop ─────────────────────────────────────────────────────────────────────────────────────────────────────
  const history: StepMetrics[] = [];
  const t0 = performance.now();
  let tokensSinceStart = 0, stepsSinceStart = 0;
  while (step < lastStep) {
    const ts = performance.now();
    const lr = lrAt(step);
    // 4.1 draw the step's items (all micro-batches) so data order does not depend on anything numeric
    const micro: ModelSample[][] = Array.from(
      { length: o.gradAccum },
      () => Array.from({ length: config.batch }, (_, i) => nextItem(i < nQa ? "qa" : "corr")),
    );
    // 4.2 forward + backward per item, gradients accumulate in .grad
    const sums = { lm: 0, corr: 0, depth: 0 }, counts = { lm: 0, corr: 0 };
    let tokens = 0;
    for (const items of micro) {
      const nLm = items.filter((s) => s.targets).length, nCorr = items.filter((s) => s.corr).length;
      for (const item of items) {
        tokens += item.inputIds.length;
        trainHook?.nextStep();
        const v = await tidyAsync(async () => {
          const out = model.forward({ inputIds: item.inputIds, images: item.images }, {
            capture: { hidden: !!item.corr && useHeads },
            linearHook: trainHook?.hook,
            checkpointLayers: config.activationCheckpointing,
            logits: item.targets !== null,
          });
          const parts: Tensor[] = [];
          let lm: Tensor | null = null, corr: Tensor | null = null, depth: Tensor | null = null;
          let pairTensors: PairTensors | null = null;
          if (item.targets) {
            lm = lmLoss(out.logits!, item.targets);
            parts.push(op.mulScalar(lm, 1 / (nLm * o.gradAccum)));
          }
          if (item.corr && useHeads) {
            const c = item.corr;
            const pt = buildPairTensors(c.pairs, c.frames, c.patches, c.patchDepth, config.loss.negatives);
            const perLayerC: Tensor[] = [], perLayerD: Tensor[] = [];
            for (const l of headLayers) {
              const e = headForward(heads.get(l)!, out.layers[l].hidden!); // (F·P, o)
              const sim = pairSimilarities(e, pt); // (M, F·P)
              perLayerC.push(infoNceLoss(sim, pt, config.loss.tau));
              if (pt.depthCount > 0) perLayerD.push(depthConsistencyLoss(sim, pt, config.loss.tau, config.loss.eps));
            }
            const meanOf = (ts: Tensor[]) => op.mulScalar(ts.reduce((a, b) => op.add(a, b)), 1 / ts.length);
            corr = meanOf(perLayerC);
            depth = perLayerD.length ? meanOf(perLayerD) : null;
            const w = 1 / (nCorr * o.gradAccum);
            if (config.loss.lambdaC > 0) parts.push(op.mulScalar(corr, config.loss.lambdaC * w));
            if (depth && config.loss.lambdaD > 0) parts.push(op.mulScalar(depth, config.loss.lambdaD * w));
            pairTensors = pt;
          }
          if (parts.length) backward(parts.reduce((a, b) => op.add(a, b)));
          if (pairTensors) disposePairTensors(pairTensors);
          return {
            lm: lm ? await lm.item() : null,
            corr: corr ? await corr.item() : null,
            depth: depth ? await depth.item() : null,
          };
        });
        if (v.lm !== null) (sums.lm += v.lm, counts.lm++);
        if (v.corr !== null) (sums.corr += v.corr, sums.depth += v.depth ?? 0, counts.corr++);
      }
    }
    trainHook?.nextStep();
    // 4.3 clip, update, clear
    const gradNorm = await noGrad(() => op.clipGradNorm(params, o.clip));
    optimizer.step(lr / o.lr);
    zeroGrad(params);
    step++;
    // 4.4 log
    const lossLm = counts.lm ? sums.lm / counts.lm : 0;
    const lossCorr = counts.corr ? sums.corr / counts.corr : 0;
    const lossDepth = counts.corr ? sums.depth / counts.corr : 0;
    const loss: LossParts = {
      total: lossLm + config.loss.lambdaC * lossCorr + config.loss.lambdaD * lossDepth,
      lm: lossLm,
      corr: lossCorr,
      depth: lossDepth,
    };
    const now = performance.now();
    tokensSinceStart += tokens;
    stepsSinceStart++;
    const m: StepMetrics = {
      step,
      loss,
      gradNorm,
      lr,
      tokens,
      stepTimeS: (now - ts) / 1000,
      elapsedS: (now - t0) / 1000,
    };
    history.push(m);
    await appendStepMetrics(metricsPath, m);
    log(formatProgressLine({
      step,
      totalSteps: config.steps,
      loss,
      lr,
      tokensSinceStart,
      stepsSinceStart,
      elapsedS: m.elapsedS,
    }));
    // 4.5 checkpoint (every checkpointEvery steps and where this process stops)
    if (step % config.checkpointEvery === 0 || step === lastStep) {
      const st = await optimizer.exportState();
      const named = async (ts: Tensor[]) =>
        new Map<string, NamedTensor>(
          await Promise.all(ts.map(async (t) =>
            [t.name, {
              shape: [...t.shape],
              data: await t.toArray(),
            }] as [string, NamedTensor]
          )),
        );
      await saveCheckpoint(opts.out, {
        step,
        config,
        base: baseRef,
        rng: { data: rngData.state(), dropout: rngDrop.state() },
        adapters: await named(params),
        optimizer: {
          step: Math.max(0, ...st.steps),
          expAvg: new Map(st.names.map((n, i) => [n, { shape: [...params[i].shape], data: st.m[i] }])),
          expAvgSq: new Map(st.names.map((n, i) => [n, { shape: [...params[i].shape], data: st.v[i] }])),
        },
        extra: { optimizerSteps: st.steps },
      });
    }
  }

  // ── 5. export: merged head-free model (GASP) or the base model files (stage base) ─────────────────────────────────
  let exportDir: string | null = null;
  const finished = step >= config.steps;
  if ((opts.exportModel ?? true) && finished) {
    const weights = isBase ? await model.toWeights() : await mergeLoraIntoWeights(baseWeights, lora, loraSetup);
    if (isBase) await saveBaseModel(opts.out, modelConfig, weights, tokenizerJson);
    exportDir = join(opts.out, "export");
    await exportHeadFreeModel(modelConfig, weights, tokenizerJson, exportDir);
    log(`exported the ${isBase ? "base" : "merged head-free"} model to ${exportDir}`);
  }
  const evalHook = isBase ? null : new LoraHook(lora, loraSetup, null);
  return { step, history, model, tokenizer, tokenizerJson, baseWeights, heads, lora, evalHook, exportDir };
}

/** Reads the "train" split, dropping per-pixel depth and object ids (training uses RGB, tracks and patch depths). */
export async function loadTrainSequences(dir: string, max?: number): Promise<CorrespondenceSequence[]> {
  const out: CorrespondenceSequence[] = [];
  for await (const seq of readShards(dir, "train")) {
    for (const f of seq.frames) {
      f.depth = new Float32Array(0);
      f.objectId = undefined;
    }
    out.push(seq);
    if (max !== undefined && out.length >= max) break;
  }
  return out;
}

/** Writes a base model dir: model.safetensors (HF names), config.json, tokenizer.json. */
export async function saveBaseModel(dir: string, c: VlmConfig, w: Weights, tokenizerJson: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const shapes = parameterShapes(c);
  const tensors = new Map<string, NamedTensor>([...w].map(([n, d]) => [n, { shape: shapes.get(n)!, data: d }]));
  await writeFileAtomic(join(dir, BASE_FILES.weights), encodeSafetensors(tensors, { format: "pt" }));
  await writeFileAtomic(join(dir, BASE_FILES.config), JSON.stringify(c, null, 2) + "\n");
  await writeFileAtomic(join(dir, BASE_FILES.tokenizer), tokenizerJson);
}

export async function loadBaseModel(
  dir: string,
): Promise<{ modelConfig: VlmConfig; baseWeights: Weights; tokenizerJson: string }> {
  const path = join(dir, BASE_FILES.weights);
  const bytes = await Deno.readFile(path).catch(() => {
    throw new DataFormatError(path, "(file)", "a base model (run `deno task train --stage base` first)");
  });
  const modelConfig = parseVlmConfig(JSON.parse(await Deno.readTextFile(join(dir, BASE_FILES.config))));
  const tokenizerJson = await Deno.readTextFile(join(dir, BASE_FILES.tokenizer));
  const baseWeights: Weights = new Map();
  for (const [n, t] of decodeSafetensors(bytes, path).tensors) baseWeights.set(n, Float32Array.from(t.data));
  return { modelConfig, baseWeights, tokenizerJson };
}

/** True when `dir` holds a complete checkpoint (for tasks deciding whether to resume). */
export async function hasCheckpoint(dir: string): Promise<boolean> {
  return (await latestCheckpointDir(dir).catch(() => null)) !== null;
}
