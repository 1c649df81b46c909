/**
 * One correspondence evaluation run (what `deno task eval` calls): every feature source (reference features, the
 * trivial baselines, models on disk with their raw and mean-centred Q/K and attention statistics, models in memory) is
 * analysed on the held-out split (PCK on all and on moved pairs, ρ, gap per layer) and, where the data has one, on the
 * robustness split (Δt = 1…24 curves); then report.json, summary.md and the Figure 3 plots are written to `out`.
 * The `vision` baseline is the vision tower of the first model given (or `visionModel`).
 */
import { join } from "node:path";
import { analyzeCorrespondenceMany, type CorrespondenceAnalysis } from "../../core/analysis/analyze.ts";
import type { FeatureMatcher, LayerFeatureSource } from "../../core/analysis/features.ts";
import { type LoadedModelSources, loadModelFeatureSources } from "../../core/analysis/load_model_features.ts";
import { pixelFeatureSource, stationaryFeatureSource } from "../../core/analysis/baselines.ts";
import { cpuMatcher } from "../../core/analysis/match.ts";
import { DEFAULT_PCK_THRESHOLD, type PckThreshold } from "../../core/analysis/pck.ts";
import { ConfigError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../core/io/atomic.ts";
import { type ResolvedModelDir, resolveModelDir } from "../../core/model/folder/resolve.ts";
import { readManifest, readShards, type Split } from "../../core/scene/shards.ts";
import { figure3Specs } from "../plots/figure3.ts";
import { renderSvg, svgToPng } from "../../core/plot/render.ts";
import { oracleFeatureSource } from "./oracle.ts";
import { randomFeatureSource } from "./random.ts";
import {
  type CheckpointReport,
  checkpointReport,
  type CorrespondenceReport,
  heldoutReport,
  REPORT_SCHEMA_VERSION,
  reportToJson,
  reportToMarkdown,
} from "./report.ts";

/** Built-in feature sources: the oracle and chance references and the trivial baselines. */
export const REFERENCE_FEATURES = ["oracle", "random", "stationary", "vision", "pixels"] as const;
/** One of {@linkcode REFERENCE_FEATURES}. */
export type ReferenceFeatures = (typeof REFERENCE_FEATURES)[number];

/** What one correspondence evaluation analyses, on which data, and where it writes. */
export interface CorrespondenceEvalOptions {
  /** Shard directory (with manifest.json). */
  data: string;
  /** Folder for report.json, summary.md and the Figure 3 plots. */
  out: string;
  /** Extra copy of report.json. */
  json?: string;
  /** Built-in references and trivial baselines to report beside the models. */
  features: ReferenceFeatures[];
  /** Models on disk: training runs, exports, model folders or step checkpoints (core/model/folder/resolve.ts). */
  checkpoints: string[];
  /** Whose vision tower the `vision` baseline uses (default: the first of `checkpoints`). */
  visionModel?: string;
  /** Attention statistics for the models on disk (default true; a CPU pass per sequence). */
  attention?: boolean;
  /** The models' hidden states V^(l) as a cosine source "… hidden states" beside their Q/K (default true). */
  hidden?: boolean;
  /** Feature sources already built (a model in memory, e.g. right after train()), reported like the models. */
  sources?: LayerFeatureSource[];
  /** PCK threshold (default δ = 2, strict, App. C). */
  threshold?: PckThreshold;
  /** Largest Δt of the robustness curves (default 24). */
  maxDeltaT?: number;
  /** Sequences per split at most. */
  limit?: number;
  /** Seed of the random reference features. */
  seed?: number;
  /** Similarity/argmax implementation (default the f64 CPU reference; the task passes the GPU matcher). */
  matcher?: FeatureMatcher;
  /** The matcher's name in the report. */
  matcherName?: string;
  /** Progress lines (the task prints them on stderr). */
  log?: (line: string) => void;
  /** Skip PNG rendering (SVG only). */
  noPng?: boolean;
}

/** The report and every file written. */
export interface CorrespondenceEvalResult {
  /** report.json's content. */
  report: CorrespondenceReport;
  /** Paths written (report.json, summary.md, figures). */
  files: string[];
}

/**
 * The correspondence analysis of Sec 5.3 / App. C: every source (references, baselines, models on disk or in
 * memory) on the held-out split (per-layer PCK, ρ, calibration gap) and, where the data has one, the robustness
 * split (Y(Δt)); writes report.json, summary.md and the Figure 3 plots to `out`.
 *
 * @example A base and a trained run against the oracle, chance and stationary references
 * ```ts
 * import { runCorrespondenceEval } from "@gasp/gasp-ts";
 * const { report } = await runCorrespondenceEval({
 *   data: "runs/data",
 *   out: "runs/eval",
 *   features: ["oracle", "random", "stationary"],
 *   checkpoints: ["runs/base", "runs/gasp"],
 * });
 * for (const c of report.checkpoints) console.log(c.name, c.peak.layer, c.peak.pck, c.chance.pck);
 * ```
 */
export async function runCorrespondenceEval(o: CorrespondenceEvalOptions): Promise<CorrespondenceEvalResult> {
  const log = o.log ?? (() => {});
  const threshold = o.threshold ?? DEFAULT_PCK_THRESHOLD;
  const seed = o.seed ?? 0;
  if (o.features.length + o.checkpoints.length + (o.sources?.length ?? 0) === 0) {
    throw new ConfigError(
      "eval",
      `nothing to evaluate: give --model DIR or --features ${REFERENCE_FEATURES.join("|")}`,
    );
  }
  const models = o.checkpoints.map((p) => resolveModelDir(p));
  for (const m of models) log(`model ${m.label}: ${m.description}`);
  let visionModel: ResolvedModelDir | null = null;
  if (o.features.includes("vision")) {
    visionModel = o.visionModel !== undefined ? resolveModelDir(o.visionModel) : models[0] ?? null;
    if (!visionModel) {
      throw new ConfigError("--features vision", "needs a model whose vision tower to read: give --model DIR too");
    }
    log(`vision baseline: the vision tower of ${visionModel.label}`);
  }
  const manifest = await readManifest(o.data);
  const count = (s: Split) => manifest.splits[s]?.sequences ?? 0;
  if (count("heldout") === 0) {
    throw new ConfigError("--data", `${o.data} has no held-out sequences (run \`deno task data\`)`);
  }
  const hasRobustness = count("robustness") > 0;
  let heldout: CorrespondenceReport["heldout"] | undefined;
  /** One pass over a split for all sources. */
  const analyse = (sources: LayerFeatureSource[], split: Split): Promise<CorrespondenceAnalysis[]> => {
    const total = Math.min(count(split), o.limit ?? Infinity);
    const t0 = performance.now();
    let last = 0;
    log(`${split}: ${total} sequences × ${sources.map((s) => `${s.name} (${s.numLayers} layers)`).join(", ")}`);
    return analyzeCorrespondenceMany(readShards(o.data, split), sources, {
      threshold,
      maxDeltaT: o.maxDeltaT,
      matcher: o.matcher ?? cpuMatcher,
      limit: o.limit,
      onProgress: (done) => {
        const now = performance.now();
        if (done < total && now - last < 2000) return;
        last = now;
        const s = (now - t0) / 1000;
        log(`  [${split}] ${done}/${total} sequences · ${(done / s).toFixed(2)} seq/s · ${s.toFixed(0)} s`);
      },
    });
  };

  // Every source with its kind and (for models) path; `make` is called again for the robustness pass of `random`
  // so that it is seeded the same way whatever ran before.
  type Spec = {
    kind: CheckpointReport["kind"];
    path?: string;
    source: LayerFeatureSource;
    make?: () => LayerFeatureSource;
  };
  const specs: Spec[] = [];
  const loaded: LoadedModelSources[] = [];
  const sources: LayerFeatureSource[] = [];
  const entries: CheckpointReport[] = [];
  try {
    for (const m of models) {
      const l = await loadModelFeatureSources(m, {
        attention: o.attention ?? true,
        hidden: o.hidden ?? true,
        vision: m === visionModel,
      });
      loaded.push(l);
    }
    if (visionModel && !models.includes(visionModel)) {
      loaded.push(await loadModelFeatureSources(visionModel, { vision: true }));
    }
    const visionSource = loaded.find((l) => l.vision)?.vision ?? null;
    for (const f of o.features) {
      if (f === "oracle") specs.push({ kind: f, source: oracleFeatureSource() });
      else if (f === "random") {
        const make = () => randomFeatureSource({ seed });
        specs.push({ kind: f, source: make(), make });
      } else if (f === "stationary") specs.push({ kind: f, source: stationaryFeatureSource() });
      else if (f === "pixels") specs.push({ kind: f, source: pixelFeatureSource() });
      else specs.push({ kind: f, path: visionModel!.path, source: visionSource! });
    }
    for (const [i, m] of models.entries()) {
      for (const src of loaded[i].qk) specs.push({ kind: "checkpoint", path: m.path, source: src });
    }
    for (const src of o.sources ?? []) specs.push({ kind: "checkpoint", source: src });
    sources.push(...specs.map((s) => s.source));
    const held = await analyse(sources, "heldout");
    let rob: CorrespondenceAnalysis[] | null = null;
    if (hasRobustness) rob = await analyse(specs.map((s) => s.make?.() ?? s.source), "robustness");
    heldout = heldoutReport(held[0].motion);
    log(
      `held-out: stationary PCK ${fmtPct(heldout.stationaryPck)} · moved pairs ${fmtPct(heldout.movedFraction)} · ` +
        `chance ${fmtPct(heldout.chancePck)} · ${heldout.numPairs} pairs on ${heldout.grid.rows}×${heldout.grid.cols}`,
    );
    specs.forEach((s, i) => {
      const robustness = rob ? { analysis: rob[i], split: "robustness" } : undefined;
      const entry = checkpointReport(held[i], s.kind, { path: s.path, robustness, split: "heldout" });
      entries.push(entry);
      const pk = entry.peak;
      log(
        `${entry.name}: peak layer ${pk.layer} PCK ${fmtPct(pk.pck)} · moved ${fmtPct(pk.pckMoved)} · ` +
          `ρ ${fmtNum(pk.rho)} · ` +
          `Y(Δt=${entry.robustness.deltaT.length}) ${fmtNum(pk.robustnessAtMaxDeltaT)} · ` +
          `mean over layers ${fmtPct(entry.layerMean.pck)} · chance ${fmtPct(entry.chance.pck)}`,
      );
    });
  } finally {
    for (const s of o.sources ?? []) await s.dispose?.();
    for (const l of loaded) l.dispose();
  }

  const report: CorrespondenceReport = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    createdAt: new Date().toISOString(),
    config: {
      data: o.data,
      split: "heldout",
      threshold,
      maxDeltaT: entries[0]?.robustness.deltaT.length ?? o.maxDeltaT ?? 24,
      limit: o.limit ?? null,
      matcher: o.matcherName ?? (o.matcher ? "custom" : "cpu-f64"),
      seed,
    },
    heldout: heldout!,
    checkpoints: entries,
  };
  const files: string[] = [];
  const write = async (path: string, data: string | Uint8Array) => {
    await writeFileAtomic(path, data);
    files.push(path);
  };
  const json = reportToJson(report);
  await write(join(o.out, "report.json"), json);
  if (o.json) await write(o.json, json);
  await write(join(o.out, "summary.md"), reportToMarkdown(report));
  const figures = figure3Specs(report);
  for (const [name, spec] of Object.entries(figures)) {
    const svg = await renderSvg(spec);
    await write(join(o.out, `fig3_${name}.svg`), svg);
    await write(join(o.out, `fig3_${name}.vl.json`), JSON.stringify(spec, null, 2) + "\n");
    if (!o.noPng) await write(join(o.out, `fig3_${name}.png`), await svgToPng(svg));
  }
  return { report, files };
}

const fmtPct = (x: number | null) => (x === null ? "—" : `${(100 * x).toFixed(1)} %`);
const fmtNum = (x: number | null) => (x === null ? "—" : x.toFixed(3));
