/**
 * One correspondence evaluation run (what `deno task eval` calls): every feature source (reference features, models
 * on disk, models in memory) is analysed on the held-out split (PCK, ρ, gap per layer) and, where the data has one, on the
 * robustness split (Δt = 1…24 curves); then report.json, summary.md and the Figure 3 plots are written to `out`.
 */
import { join } from "node:path";
import { analyzeCorrespondenceMany, type CorrespondenceAnalysis } from "../../core/analysis/analyze.ts";
import type { FeatureMatcher, LayerFeatureSource } from "../../core/analysis/features.ts";
import { loadModelFeatureSource } from "../../core/analysis/load_model_features.ts";
import { cpuMatcher } from "../../core/analysis/match.ts";
import { DEFAULT_PCK_THRESHOLD, type PckThreshold } from "../../core/analysis/pck.ts";
import { ConfigError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../core/io/atomic.ts";
import { resolveModelDir } from "../../core/model/folder/resolve.ts";
import { readManifest, readShards, type Split } from "../../core/scene/shards.ts";
import { figure3Specs } from "../plots/figure3.ts";
import { renderSvg, svgToPng } from "../../core/plot/render.ts";
import { oracleFeatureSource } from "./oracle.ts";
import { randomFeatureSource } from "./random.ts";
import {
  type CheckpointReport,
  checkpointReport,
  type CorrespondenceReport,
  REPORT_SCHEMA_VERSION,
  reportToJson,
  reportToMarkdown,
} from "./report.ts";

export type ReferenceFeatures = "oracle" | "random";

export interface CorrespondenceEvalOptions {
  /** Shard directory (with manifest.json). */
  data: string;
  out: string;
  /** Extra copy of report.json. */
  json?: string;
  features: ReferenceFeatures[];
  /** Models on disk: training runs, exports, model folders or step checkpoints (core/model/folder/resolve.ts). */
  checkpoints: string[];
  /** Feature sources already built (a model in memory, e.g. right after train()), reported like the models. */
  sources?: LayerFeatureSource[];
  threshold?: PckThreshold;
  maxDeltaT?: number;
  /** Sequences per split at most. */
  limit?: number;
  /** Seed of the random reference features. */
  seed?: number;
  matcher?: FeatureMatcher;
  matcherName?: string;
  /** Progress lines (the task prints them on stderr). */
  log?: (line: string) => void;
  /** Skip PNG rendering (SVG only). */
  noPng?: boolean;
}

export interface CorrespondenceEvalResult {
  report: CorrespondenceReport;
  files: string[];
}

export async function runCorrespondenceEval(o: CorrespondenceEvalOptions): Promise<CorrespondenceEvalResult> {
  const log = o.log ?? (() => {});
  const threshold = o.threshold ?? DEFAULT_PCK_THRESHOLD;
  const seed = o.seed ?? 0;
  if (o.features.length + o.checkpoints.length + (o.sources?.length ?? 0) === 0) {
    throw new ConfigError("eval", "nothing to evaluate: give --model DIR or --features oracle|random");
  }
  const models = o.checkpoints.map((p) => resolveModelDir(p));
  for (const m of models) log(`model ${m.label}: ${m.description}`);
  const manifest = await readManifest(o.data);
  const count = (s: Split) => manifest.splits[s]?.sequences ?? 0;
  if (count("heldout") === 0) {
    throw new ConfigError("--data", `${o.data} has no held-out sequences (run \`deno task data\`)`);
  }
  const hasRobustness = count("robustness") > 0;
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

  const specs: { kind: CheckpointReport["kind"]; path?: string; make: () => Promise<LayerFeatureSource> }[] = [
    ...o.features.map((f) => ({
      kind: f,
      make: () => Promise.resolve(f === "oracle" ? oracleFeatureSource() : randomFeatureSource({ seed })),
    })),
    ...models.map((m) => ({ kind: "checkpoint" as const, path: m.path, make: () => loadModelFeatureSource(m) })),
    ...(o.sources ?? []).map((src) => ({ kind: "checkpoint" as const, make: () => Promise.resolve(src) })),
  ];
  const sources: LayerFeatureSource[] = [];
  const entries: CheckpointReport[] = [];
  try {
    for (const s of specs) sources.push(await s.make());
    const held = await analyse(sources, "heldout");
    let rob: CorrespondenceAnalysis[] | null = null;
    if (hasRobustness) {
      // Fresh random sources so the robustness pass is seeded the same way whatever ran before.
      const robSources = await Promise.all(specs.map((s, i) => (s.kind === "random" ? s.make() : sources[i])));
      rob = await analyse(robSources, "robustness");
    }
    specs.forEach((s, i) => {
      const robustness = rob ? { analysis: rob[i], split: "robustness" } : undefined;
      const entry = checkpointReport(held[i], s.kind, { path: s.path, robustness, split: "heldout" });
      entries.push(entry);
      const pk = entry.peak;
      log(
        `${entry.name}: peak layer ${pk.layer} PCK ${fmtPct(pk.pck)} · ρ ${fmtNum(pk.rho)} · ` +
          `Y(Δt=${entry.robustness.deltaT.length}) ${fmtNum(pk.robustnessAtMaxDeltaT)} · ` +
          `mean over layers ${fmtPct(entry.layerMean.pck)} · chance ${fmtPct(entry.chance.pck)}`,
      );
    });
  } finally {
    for (const s of sources) await s.dispose?.();
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
