/**
 * What `deno task train` does, as library functions (tasks/train.ts only parses flags):
 *   runTrainCommand: one stage with the given config (flags), or, with no stage/preset flags, the embedded default:
 *   data (if runs/data has no manifest) → tiny base (if runs/base has no model) → the sft-general control into
 *   runs/sft-general (same general data, steps and seed, no geometric loss) → GASP into runs/gasp, both from that
 *   base, so `deno task bench` can pair GASP against the control; with the held-out peak-layer PCK@2 of the base and
 *   of the GASP model (Q/K per App. C raw and centred, and the head
 *   embeddings), on all pairs and on the moved pairs, beside the trivial baselines (stationary, vision, pixels).
 */
import { existsSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { writeFileAtomic } from "../core/io/atomic.ts";
import { lockFolder } from "../core/io/lock.ts";
import { ConfigError, DataFormatError } from "../core/errors.ts";
import { analyzeCorrespondenceMany, peakLayerPck } from "../core/analysis/analyze.ts";
import type { LayerFeatureSource } from "../core/analysis/features.ts";
import { createGpuMatcher } from "../core/analysis/match_gpu.ts";
import { DEFAULT_DATASET, generateDataset } from "../core/scene/dataset.ts";
import { readManifest, readShards, SHARD_MAGIC } from "../core/scene/shards.ts";
import { type LinearHook, VlmModel } from "../core/model/vlm.ts";
import { noGrad, Rng, tidyAsync } from "../core/runtime.ts";
import { initDevice } from "../core/device_init.ts";
import { lmLoss, lmLossRows } from "./losses.ts";
import { generalQaSample } from "./samples.ts";
import { TextTokenizer } from "../core/text/tokenizer.ts";
import { resolveBaseConfig, resolveHeadLayers, sftGeneralControlConfig, type TrainConfig } from "./config.ts";
import { createHeads, headEmbedder, headParams } from "./correspondence_head.ts";
import { train, type TrainResult } from "./loop.ts";
import { openModel } from "../core/model/folder/open.ts";
import { resolveWeightDType } from "../core/model/device_weights.ts";
import { headInitWeights } from "./trainables.ts";
import { loraParams } from "./lora.ts";
import { resolveModelDir } from "../core/model/folder/resolve.ts";
import { checkRunFolder } from "./run_folder.ts";
import { modelFeatureSources, visionFeatureSource } from "../core/analysis/model_features.ts";
import { pixelFeatureSource, stationaryFeatureSource } from "../core/analysis/baselines.ts";
import type { MotionSummary } from "../core/analysis/motion.ts";

export interface PipelineOptions {
  dataDir: string;
  /** dataDir was named by the user (then it must hold a dataset; only the default folder is ever generated). */
  dataGiven?: boolean;
  baseDir: string;
  /** baseDir was named by the user (then it must hold a model; only the default runs/base is ever trained). */
  baseGiven?: boolean;
  out: string;
  /**
   * Run folder of the sft-general control (sftGeneralControlConfig of the GASP config, on the same base), trained
   * before GASP; none when undefined. The no-flag `deno task train` uses runs/sft-general.
   */
  controlOut?: string;
  /** Held-out sequences scored for the before/after PCK. */
  pckSequences: number;
  log: (line: string) => void;
}

/**
 * Checks a shard folder as far as is cheap, before any work: the manifest validates, and every file it lists exists
 * with the recorded size and a shard header. (Records' CRCs and files' sha256 are verified as they are read.) A
 * folder without manifest.json is an error when the user named it (`given`); the default one is generated later.
 */
export async function checkData(dir: string, given: boolean): Promise<void> {
  if (!existsSync(join(dir, "manifest.json"))) {
    if (given) await ensureData(dir, () => {}, true); // throws, naming the folder
    return;
  }
  const manifest = await readManifest(dir);
  for (const f of manifest.files) {
    const path = join(dir, f.name);
    const rel = relative(resolve(dir), resolve(path));
    if (rel.startsWith("..") || isAbsolute(rel)) {
      throw new DataFormatError(join(dir, "manifest.json"), "files[].name", "a path inside the folder", f.name);
    }
    const size = await Deno.stat(path).then((s) => s.size, () => null);
    if (size === null) {
      throw new DataFormatError(path, "(file)", `a shard listed in ${join(dir, "manifest.json")}`, "missing");
    }
    if (size !== f.bytes) throw new DataFormatError(path, "(size)", `${f.bytes} bytes (manifest)`, `found ${size}`);
    const head = new Uint8Array(SHARD_MAGIC.length);
    const file = await Deno.open(path, { read: true });
    try {
      await file.read(head);
    } finally {
      file.close();
    }
    if (new TextDecoder().decode(head) !== SHARD_MAGIC) {
      throw new DataFormatError(path, "header", `a shard starting with "${SHARD_MAGIC}"`);
    }
  }
}

/**
 * Generates the default dataset into dataDir unless it already has a manifest. A folder the user named (`given`)
 * is never generated into: a mistyped path or a deleted manifest is an error, not 400 MB of new shards.
 */
export async function ensureData(dir: string, log: (l: string) => void, given = false): Promise<void> {
  if (existsSync(join(dir, "manifest.json"))) return;
  if (given) {
    throw new ConfigError(
      "--data",
      `${dir} has no manifest.json (create a dataset with \`deno task data --out ${dir}\`)`,
    );
  }
  log(`no dataset in ${dir}: generating the default one (as \`deno task data\`)`);
  let last = 0;
  await generateDataset(dir, DEFAULT_DATASET, (p) => {
    const now = performance.now();
    if (now - last > 10_000) (last = now, log(`data: ${p.split} ${p.sequencesDone}/${p.sequencesTotal}`));
  });
}

/**
 * Trains the tiny base into baseDir unless it already holds a model (any form resolveModelDir accepts). A base the
 * user named (`given`) is never trained into: a mistyped path is an error.
 */
export async function ensureBase(
  baseDir: string,
  dataDir: string,
  log: (l: string) => void,
  given = false,
  overrides: Record<string, unknown> = {},
): Promise<void> {
  if (given || existsSync(baseDir)) {
    resolveModelDir(baseDir); // throws, naming the path, when it holds no model
    return;
  }
  log(`no base model in ${baseDir}: training the tiny base VLM from scratch on general QA (--stage base)`);
  const r = await train(resolveBaseConfig(overrides), { out: baseDir, dataDir, log });
  r.model.dispose();
}

export interface PckReport {
  source: string;
  /** Peak layer (index into the source's layers), its PCK@2 and its PCK@2 on the moved pairs. */
  layer: number;
  pck: number;
  pckMoved: number;
  /** Pearson ρ of confidence and correctness (Eq 13) at the peak layer (NaN → null in pck.json). */
  rho: number;
  /** PCK@2 of every layer of the source, on all pairs and on the moved pairs. */
  perLayer: number[];
  perLayerMoved: number[];
  /** Analytic chance PCK@2 for the same ground truths (a uniformly random argmax). */
  chance: number;
  /** Per layer, the std over sequences of PCK@2 (all pairs, moved pairs) and the source's layer scalars. */
  perLayerStd: number[];
  perLayerMovedStd: number[];
  perLayerScalars: Record<string, number>[];
}

/** Held-out peak-layer PCK@2 of each source over the first n held-out sequences, and those pairs' motion. */
export async function heldoutPeakPck(
  dataDir: string,
  sources: LayerFeatureSource[],
  n: number,
  log: (l: string) => void,
): Promise<{ reports: PckReport[]; motion: MotionSummary }> {
  const matcher = await createGpuMatcher();
  const t0 = performance.now();
  const res = await analyzeCorrespondenceMany(readShards(dataDir, "heldout"), sources, {
    matcher,
    limit: n,
    onProgress: (done) => {
      if (done % 10 === 0) {
        log(`  PCK: ${done}/${n} held-out sequences (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      }
    },
  });
  const reports = res.map((a) => ({
    source: a.source,
    rho: a.layers[a.peakLayer]?.rho ?? NaN,
    ...peakLayerPck(a),
    perLayer: a.layers.map((l) => l.pck),
    perLayerMoved: a.layers.map((l) => l.pckMoved),
    chance: a.chance.pck,
    perLayerStd: a.layers.map((l) => l.pckStd),
    perLayerMovedStd: a.layers.map((l) => l.pckMovedStd),
    perLayerScalars: a.layers.map((l) => l.scalars),
  }));
  return { reports, motion: res[0].motion };
}

/**
 * Mean L_LM (answer tokens only) over general-QA items about the first n held-out sequences (one question each, seed
 * fixed so every model is scored on the same items): does the LM keep its language after fine-tuning?
 */
export async function heldoutLmLoss(
  model: VlmModel,
  tok: TextTokenizer,
  dataDir: string,
  n: number,
  linearHook?: LinearHook,
): Promise<number> {
  const rng = new Rng(12345);
  let sum = 0, count = 0;
  for await (const seq of readShards(dataDir, "heldout")) {
    if (count >= n) break;
    const s = generalQaSample(model.config, tok, seq, rng);
    if (!s) continue;
    const r = lmLossRows(s.targets!);
    sum += await tidyAsync(() =>
      noGrad(() =>
        lmLoss(
          model.forward({ inputIds: s.inputIds, images: s.images }, { linearHook, logits: r.rows }).logits!,
          r.targets,
        )
      )
        .item()
    );
    count++;
  }
  return count ? sum / count : NaN;
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

function pckLine(r: PckReport): string {
  const layers = r.perLayer.map((x) => (100 * x).toFixed(1)).join(" / ");
  const moved = r.perLayerMoved.map((x) => (100 * x).toFixed(1)).join(" / ");
  return `${r.source.padEnd(28)} peak layer ${r.layer}  PCK@2 ${pct(r.pck)}  moved ${pct(r.pckMoved)}  ` +
    `(layers ${layers}; moved ${moved})`;
}

function heldoutLine(m: MotionSummary): string {
  return `held-out pairs: ${m.numPairs} on ${m.grid.rows}×${m.grid.cols}; stationary PCK@2 ${pct(m.stationaryPck)} ` +
    `± ${pct(m.stationaryPckStd)}, moved ${pct(m.movedFraction)}, chance ${pct(m.chancePck)}`;
}

/**
 * Trains the sft-general control of `config` into `out` from the base at baseDir; returns its held-out QA L_LM on
 * the same items as the base's and GASP's, and the held-out PCK@2 of its Q/K and hidden states: the same general
 * data and steps without the geometric loss, so what GASP's backbone gains over it is the geometric loss's doing.
 */
export async function trainControl(
  config: TrainConfig,
  out: string,
  o: Pick<PipelineOptions, "dataDir" | "baseDir" | "pckSequences" | "log">,
): Promise<{ config: TrainConfig; steps: number; lm: number; pck: PckReport[] }> {
  const control = sftGeneralControlConfig(config);
  o.log(`sft-general control into ${out} (${control.steps} steps, seed ${control.seed}, same base; no geometric loss)`);
  const r = await train(control, { out, dataDir: o.dataDir, baseDir: o.baseDir, log: o.log });
  try {
    const lm = await heldoutLmLoss(r.model, r.tokenizer, o.dataDir, o.pckSequences, r.evalHook?.hook);
    const sources = modelFeatureSources(r.model, r.tokenizer, {
      name: "sft-general",
      linearHook: r.evalHook?.hook,
      hidden: true,
    });
    const { reports: pck } = await heldoutPeakPck(o.dataDir, sources, o.pckSequences, o.log);
    for (const p of pck) o.log(`control: ${pckLine(p)}`);
    return { config: control, steps: r.step, lm, pck };
  } finally {
    r.model.dispose();
    for (const t of loraParams(r.lora)) t.dispose();
  }
}

/** The no-flag run: data → base → sft-general control (controlOut) → GASP (config) → PCK before/after. */
export async function defaultPipeline(config: TrainConfig, o: PipelineOptions): Promise<TrainResult> {
  await ensureData(o.dataDir, o.log, o.dataGiven);
  await ensureBase(o.baseDir, o.dataDir, o.log, o.baseGiven);
  await checkRunFolder(o.out);
  if (o.controlOut !== undefined) await checkRunFolder(o.controlOut);
  await initDevice();
  const control = o.controlOut !== undefined ? await trainControl(config, o.controlOut, o) : undefined;
  // Before: the base model's own Q/K (App. C), and the heads as train() initialises them (same seed → same SVD init).
  // The base streams onto the device as training will store it (core/model/device_weights.ts).
  const base = await openModel(resolveModelDir(o.baseDir));
  const tok = TextTokenizer.fromJson(base.tokenizerJson);
  const c = base.config;
  let baseModel: VlmModel, initHeads;
  try {
    baseModel = await VlmModel.load(c, base.weights, {
      dtype: resolveWeightDType(config.dtype, base.weights.storedDType),
    });
    if (config.data.correspondence === "heads") {
      const headLayers = resolveHeadLayers(config.head.layers, c.num_hidden_layers);
      const qProj = await headInitWeights(base.weights, headLayers);
      initHeads = createHeads(qProj, c.hidden_size, headLayers, config.head, new Rng(config.seed));
    }
  } finally {
    base.close();
  }
  o.log(`held-out PCK@2 of the base model (${o.pckSequences} sequences):`);
  // The trivial baselines beside the base: stationary, the base's vision tower, raw pixels.
  const { reports: before, motion } = await heldoutPeakPck(
    o.dataDir,
    [
      stationaryFeatureSource(),
      visionFeatureSource(baseModel, tok),
      pixelFeatureSource(),
      ...modelFeatureSources(baseModel, tok, {
        name: "base",
        heads: initHeads && headEmbedder(initHeads),
        hidden: true,
      }),
    ],
    o.pckSequences,
    o.log,
  );
  const lmBefore = await heldoutLmLoss(baseModel, tok, o.dataDir, o.pckSequences);
  baseModel.dispose();
  for (const t of initHeads ? headParams(initHeads) : []) t.dispose();
  o.log(heldoutLine(motion));
  for (const b of before) o.log(pckLine(b));
  o.log(`base held-out QA L_LM ${lmBefore.toFixed(4)}`);
  // GASP. The run folder stays locked until pck.json is written (train() opens it once its inputs have loaded).
  await using lock = await lockFolder(o.out, { log: o.log });
  const r = await train(config, { out: o.out, dataDir: o.dataDir, baseDir: o.baseDir, log: o.log, lock });
  const sources = modelFeatureSources(r.model, r.tokenizer, {
    name: config.preset,
    linearHook: r.evalHook?.hook,
    heads: headEmbedder(r.heads),
    hidden: true,
  });
  o.log(`held-out PCK@2 after ${config.preset} (${o.pckSequences} sequences):`);
  const { reports: after } = await heldoutPeakPck(o.dataDir, sources, o.pckSequences, o.log);
  const lmAfter = await heldoutLmLoss(r.model, r.tokenizer, o.dataDir, o.pckSequences, r.evalHook?.hook);
  o.log("── held-out peak-layer PCK@2, all pairs and moved pairs (where 'the point did not move' is wrong) ──");
  o.log("   stationary: each point predicted at its own token; vision: the vision tower's tokens (no LLM layer);");
  o.log("   pixels: raw patch pixels; all three by cosine argmax, as the read-outs below");
  o.log("   Q/K: the visual tokens' queries and keys, pre-RoPE, head-averaged (App. C, for models without heads);");
  o.log("   Q/K centred: the same minus each sequence's mean query / key");
  o.log("   head embeddings: the correspondence heads H_c(V^(l)) (Eq 4), SVD init before, trained after");
  o.log("   hidden states: the heads' input V^(l) itself (each block's output), cosine, no head");
  o.log(`   ${heldoutLine(motion)}`);
  for (const b of before) o.log(`before: ${pckLine(b)}`);
  for (const c of control?.pck ?? []) o.log(`sft-general control: ${pckLine(c)}`);
  for (const a of after) o.log(`after:  ${pckLine(a)}`);
  // App. C measures models without correspondence heads by their Q/K and GASP models by their heads.
  const baseQk = before.find((b) => b.source.endsWith("Q/K"));
  const gaspHeads = after.find((a) => a.source.endsWith("head embeddings"));
  const vision = before.find((b) => b.source === "vision");
  if (baseQk && gaspHeads) {
    o.log(
      `App. C comparison: base (no heads) Q/K ${pct(baseQk.pck)} → ${config.preset} heads ${pct(gaspHeads.pck)} ` +
        `(layer ${gaspHeads.layer}; chance ${pct(gaspHeads.chance)}; stationary ${pct(motion.stationaryPck)})`,
    );
    o.log(
      `moved pairs: base Q/K ${pct(baseQk.pckMoved)} → ${config.preset} heads ${pct(gaspHeads.pckMoved)} ` +
        `(vision ${pct(vision?.pckMoved ?? NaN)})`,
    );
  }
  o.log(
    `held-out QA L_LM: base ${lmBefore.toFixed(4)} → ${config.preset} ${lmAfter.toFixed(4)}` +
      (control ? ` (sft-general control ${control.lm.toFixed(4)})` : ""),
  );
  await writeFileAtomic(
    join(o.out, "pck.json"),
    JSON.stringify(
      {
        before,
        after,
        lmBefore,
        lmAfter,
        sequences: o.pckSequences,
        heldout: motion,
        // The run folders this report compares (base, GASP, the sft-general control), for scripts that read it.
        runs: { base: o.baseDir, gasp: o.out, control: o.controlOut ?? null },
        control: control
          ? { preset: control.config.preset, steps: control.steps, lm: control.lm, pck: control.pck }
          : null,
      },
      (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
      2,
    ) + "\n",
  );
  return r;
}
