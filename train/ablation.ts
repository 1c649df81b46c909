/**
 * Issue 13 item 6, "why the backbone does not change: measured, not guessed": one GASP run per candidate cause, all
 * from the same base, data and seed, each measured the same way, into one table (`deno task ablate`).
 *
 * Rows (ABLATION_ROWS; `--rows` picks some): the paper default (preset full) and sft-general as references, then one
 * change each: (a) frames as one video in M-RoPE, (b) heads on the attention output, (c) λ_c = 1 / head LR × 16,
 * (d) LoRA on the vision blocks too, (e) 4× the steps. Per row: held-out peak-layer PCK@2 (all pairs and moved pairs,
 * std over sequences) of the head embeddings and of the backbone's Q/K (raw App. C read-out and mean-centred), the
 * attention statistics (core/analysis/attention_stats.ts: own-frame share of later-frame queries, attention on the
 * true frame-0 match, each beside uniform), held-out L_LM (train/pipeline.ts heldoutLmLoss) and, through the caller's
 * `bench` (tasks/ablate.ts wires eval/benchmarks runBench), the synthetic suites' deltas against sft-general.
 *
 * Output: `outDir/<row>/` is each row's training run (metrics.jsonl, checkpoints, export/) plus row.json (its
 * measured row); `outDir/ablation.json` is {@linkcode AblationReport}; {@linkcode ablationMarkdown} prints the table.
 * A row whose row.json holds the same resolved config is reused, not retrained (a rerun after adding a row is cheap).
 *
 * ablation.json schema ("gasp-ablation/1"; the report script reads it):
 *   schema, createdAt, argv (the command line or null), data, base (folders), seed, pckSequences (n, held-out
 *   sequences), benchPerSuite (items per synthetic suite, or null when not benchmarked), notes[],
 *   heldout (core/analysis/motion.ts MotionSummary: grid, numPairs, stationaryPck, movedFraction, chancePck, …),
 *   rows[]: AblationRow — name, description, preset, overrides (partial TrainConfig over the preset), steps, runDir,
 *     trainSeconds, heldoutLm, and the metrics:
 *       head | qk | qkCentred | hidden: PeakPck {layer, pck, pckStd, pckMoved, pckMovedStd, perLayer,
 *         perLayerMoved} (head null for presets without heads; hidden: the hidden states V^(l), cosine, no head),
 *         fractions 0-1, stds over the n sequences;
 *       attention: {ownFrameShare, ownFrameShareUniform, frame0Share, trueMatchAttention, trueMatchAttentionUniform}
 *         each {mean (over layers), perLayer};
 *       bench: {control, suites: {[suite]: BenchDelta {n, score, ci95, diff, diffCi95, pValue, test}}} or null
 *         (the control row's own diff is null).
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../core/io/atomic.ts";
import type { PairedDelta } from "../core/paired_delta.ts";
import { ConfigError } from "../core/errors.ts";
import { modelFeatureSources } from "../core/analysis/model_features.ts";
import type { MotionSummary } from "../core/analysis/motion.ts";
import { deepMerge, DEFAULT_TRAIN_CONFIG, type PresetName, resolveTrainConfig, type TrainConfig } from "./config.ts";
import { headEmbedder, headParams } from "./correspondence_head.ts";
import { loraParams } from "./lora.ts";
import { train } from "./loop.ts";
import { heldoutLmLoss, heldoutPeakPck, type PckReport } from "./pipeline.ts";

/** One candidate cause (or reference): a preset and the config changes over it. */
export interface AblationRowSpec {
  name: string;
  description: string;
  preset: PresetName;
  /** Partial TrainConfig merged over the preset (steps come from the run's steps × stepsFactor). */
  overrides: Record<string, unknown>;
  /** Multiple of the run's steps this row trains (default 1). */
  stepsFactor?: number;
}

/** The rows, most informative first (the order they run in). */
export const ABLATION_ROWS: readonly AblationRowSpec[] = [
  { name: "full", description: "paper default (preset full, Eq 9)", preset: "full", overrides: {} },
  { name: "sft-general", description: "reference: general QA only, no heads", preset: "sft-general", overrides: {} },
  {
    name: "video",
    description: "(a) frames as one video in M-RoPE: shared h/w ids, one temporal index per frame",
    preset: "full",
    overrides: { data: { framePositions: "video" } },
  },
  {
    name: "head-attn",
    description: "(b) heads on the attention sublayer's output, not the block output",
    preset: "full",
    overrides: { head: { input: "attention" } },
  },
  { name: "lambda-c-1", description: "(c) λ_c = 1.0 (paper 0.3)", preset: "full", overrides: { loss: { lambdaC: 1 } } },
  {
    name: "head-lr-16",
    description: "(c) head LR × 16 (paper × 4)",
    preset: "full",
    overrides: { optim: { headLrMultiplier: 16 } },
  },
  {
    name: "lora-vision",
    description: "(d) LoRA on the vision blocks' attention too",
    preset: "full",
    overrides: { lora: { vision: true } },
  },
  { name: "steps-4x", description: "(e) 4× the steps", preset: "full", overrides: {}, stepsFactor: 4 },
];

/** Names `--rows` accepts. */
export const ABLATION_ROW_NAMES: string[] = ABLATION_ROWS.map((r) => r.name);

/** Peak-layer PCK@2 of one source, with its std over sequences. */
export interface PeakPck {
  layer: number;
  pck: number;
  pckStd: number;
  pckMoved: number;
  pckMovedStd: number;
  perLayer: number[];
  perLayerMoved: number[];
}

/** A layer scalar: its mean over layers and per layer. */
export interface LayerScalar {
  mean: number;
  perLayer: number[];
}

/** One synthetic suite's score of a row and its paired difference against the control. */
export type BenchDelta = PairedDelta;

/** What the caller's benchmark returns: per row name, per suite. */
export interface AblationBenchResult {
  control: string;
  rows: Record<string, Record<string, BenchDelta>>;
  notes: string[];
}

/** Benchmarks the rows' run folders (each has export/), paired against `control`. */
export type AblationBench = (
  models: { name: string; dir: string }[],
  control: string,
) => Promise<AblationBenchResult>;

/** One measured row of ablation.json. */
export interface AblationRow {
  name: string;
  description: string;
  preset: PresetName;
  overrides: Record<string, unknown>;
  steps: number;
  runDir: string;
  trainSeconds: number;
  head: PeakPck | null;
  qk: PeakPck;
  qkCentred: PeakPck;
  /** The hidden states V^(l) read by cosine (no head): whether the backbone itself changed. */
  hidden: PeakPck;
  attention: Record<string, LayerScalar>;
  heldoutLm: number;
  bench: { control: string; suites: Record<string, BenchDelta> } | null;
  /** The resolved config (what makes a saved row reusable). */
  config: TrainConfig;
}

/** ablation.json (see the file comment). */
export interface AblationReport {
  schema: "gasp-ablation/1";
  createdAt: string;
  argv: string[] | null;
  data: string;
  base: string;
  seed: number;
  pckSequences: number;
  benchPerSuite: number | null;
  notes: string[];
  heldout: MotionSummary | null;
  rows: AblationRow[];
}

export interface AblationOptions {
  dataDir: string;
  baseDir: string;
  /** runs/ablate: one folder per row, and ablation.json. */
  outDir: string;
  /** Row names, in the order to run (default all, ABLATION_ROWS order). */
  rows?: string[];
  /** Steps of a factor-1 row (default: the config default). */
  steps?: number;
  seed?: number;
  /** Held-out sequences measured (n). */
  pckSequences: number;
  /** Benchmarks the rows after training (tasks/ablate.ts: runBench on the synthetic suites). */
  bench?: AblationBench;
  /** Items per synthetic suite the bench uses (recorded). */
  benchPerSuite?: number;
  argv?: string[];
  log?: (line: string) => void;
}

const ATTENTION_SCALARS = [
  "ownFrameShare",
  "ownFrameShareUniform",
  "frame0Share",
  "trueMatchAttention",
  "trueMatchAttentionUniform",
];

/** The resolved config of a row: its preset and overrides, the run's steps × factor and seed. */
export function ablationRowConfig(row: AblationRowSpec, steps: number, seed: number): TrainConfig {
  return resolveTrainConfig({
    preset: row.preset,
    overrides: deepMerge(row.overrides, { steps: steps * (row.stepsFactor ?? 1), seed }) as Record<string, unknown>,
  });
}

function peak(r: PckReport): PeakPck {
  return {
    layer: r.layer,
    pck: r.pck,
    pckStd: r.perLayerStd[r.layer],
    pckMoved: r.pckMoved,
    pckMovedStd: r.perLayerMovedStd[r.layer],
    perLayer: r.perLayer,
    perLayerMoved: r.perLayerMoved,
  };
}

function attentionOf(r: PckReport): Record<string, LayerScalar> {
  const out: Record<string, LayerScalar> = {};
  for (const k of ATTENTION_SCALARS) {
    const perLayer = r.perLayerScalars.map((s) => s[k] ?? NaN);
    out[k] = { mean: perLayer.reduce((a, b) => a + b, 0) / perLayer.length, perLayer };
  }
  return out;
}

const finite = (_k: string, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v);

/**
 * What a row's result depends on besides its config: the base's and the data's files (name, size, mtime; the data
 * manifest carries every shard's sha256), so a row measured on another base or dataset at the same paths is not
 * reused.
 */
function inputsFingerprint(o: AblationOptions): string {
  const files = (dir: string) =>
    existsSync(dir)
      ? readdirSync(dir, { recursive: true }).map(String).sort().map((f) => {
        const st = statSync(join(dir, f));
        return st.isFile() ? `${f}:${st.size}:${st.mtimeMs}` : "";
      }).filter(Boolean)
      : [];
  const manifest = join(o.dataDir, "manifest.json");
  return JSON.stringify({
    base: { path: resolve(o.baseDir), files: files(o.baseDir) },
    data: existsSync(manifest) ? Deno.readTextFileSync(manifest) : null,
  });
}

/** Trains and measures one row (or reuses its row.json when the resolved config, base and data are the same). */
async function runRow(
  spec: AblationRowSpec,
  o: AblationOptions,
  steps: number,
  seed: number,
  log: (l: string) => void,
): Promise<{ row: AblationRow; heldout: MotionSummary | null }> {
  const config = ablationRowConfig(spec, steps, seed);
  const runDir = join(o.outDir, spec.name);
  const saved = join(runDir, "row.json");
  const inputs = inputsFingerprint(o);
  if (existsSync(saved)) {
    const prev = JSON.parse(await Deno.readTextFile(saved)) as {
      row: AblationRow;
      heldout: MotionSummary | null;
      inputs?: string;
    };
    if (
      JSON.stringify(prev.row.config) === JSON.stringify(config) && prev.inputs === inputs &&
      prev.row.hidden !== undefined && existsSync(join(runDir, "export")) // rows saved before `hidden` are redone
    ) {
      log(`ablate: ${spec.name}: reusing ${saved} (same config, base and data)`);
      return { row: prev.row, heldout: prev.heldout };
    }
  }
  // A stale or unfinished row folder is this task's own output: it is replaced.
  if (existsSync(runDir)) {
    log(`ablate: ${spec.name}: replacing ${runDir} (no finished row with this config, base and data)`);
    await Deno.remove(runDir, { recursive: true });
  }
  log(`ablate: ${spec.name}: ${spec.description} (${config.steps} steps)`);
  const t0 = performance.now();
  const r = await train(config, { out: runDir, dataDir: o.dataDir, baseDir: o.baseDir, log });
  const trainSeconds = (performance.now() - t0) / 1000;
  try {
    const sources = modelFeatureSources(r.model, r.tokenizer, {
      name: spec.name,
      linearHook: r.evalHook?.hook,
      heads: r.heads.size ? headEmbedder(r.heads) : undefined,
      attention: true,
      hidden: true,
    });
    const { reports, motion } = await heldoutPeakPck(o.dataDir, sources, o.pckSequences, log);
    const find = (suffix: string) => reports.find((x) => x.source === `${spec.name} ${suffix}`);
    const qk = find("Q/K")!, qkCentred = find("Q/K centred")!, head = find("head embeddings");
    const hidden = find("hidden states")!;
    const heldoutLm = await heldoutLmLoss(r.model, r.tokenizer, o.dataDir, o.pckSequences, r.evalHook?.hook);
    const row: AblationRow = {
      name: spec.name,
      description: spec.description,
      preset: spec.preset,
      overrides: spec.overrides,
      steps: config.steps,
      runDir,
      trainSeconds,
      head: head ? peak(head) : null,
      qk: peak(qk),
      qkCentred: peak(qkCentred),
      hidden: peak(hidden),
      attention: attentionOf(qk),
      heldoutLm,
      bench: null,
      config,
    };
    await writeFileAtomic(saved, JSON.stringify({ row, heldout: motion, inputs }, finite, 1) + "\n");
    return { row, heldout: motion };
  } finally {
    r.model.dispose();
    for (const t of [...headParams(r.heads), ...loraParams(r.lora)]) t.dispose();
  }
}

/** Runs the rows, benchmarks them, writes outDir/ablation.json; returns the report. */
export async function runAblation(o: AblationOptions): Promise<AblationReport> {
  const log = o.log ?? ((l: string) => console.log(l));
  const names = o.rows ?? ABLATION_ROW_NAMES;
  const specs = names.map((n) => {
    const s = ABLATION_ROWS.find((r) => r.name === n);
    if (!s) throw new ConfigError("--rows", `unknown row "${n}"; choose from ${ABLATION_ROW_NAMES.join(", ")}`);
    return s;
  });
  if (new Set(names).size !== names.length) throw new ConfigError("--rows", "a row is named twice");
  const steps = o.steps ?? DEFAULT_TRAIN_CONFIG.steps;
  const seed = o.seed ?? DEFAULT_TRAIN_CONFIG.seed;
  const rows: AblationRow[] = [];
  let heldout: MotionSummary | null = null;
  const notes = [
    `every row from the same base (${o.baseDir}), data (${o.dataDir}) and seed ${seed}; ` +
    `PCK@2 and attention on the first ${o.pckSequences} held-out sequences (std over sequences)`,
  ];
  for (const spec of specs) {
    const r = await runRow(spec, o, steps, seed, log);
    rows.push(r.row);
    heldout ??= r.heldout;
  }
  if (o.bench) {
    const control = names.includes("sft-general") ? "sft-general" : names[0];
    if (control !== "sft-general") notes.push(`no sft-general row: benchmark deltas are against ${control}`);
    const b = await o.bench(rows.map((r) => ({ name: r.name, dir: r.runDir })), control);
    for (const r of rows) r.bench = { control: b.control, suites: b.rows[r.name] ?? {} };
    notes.push(...b.notes);
  }
  const report: AblationReport = {
    schema: "gasp-ablation/1",
    createdAt: new Date().toISOString(),
    argv: o.argv ?? null,
    data: o.dataDir,
    base: o.baseDir,
    seed,
    pckSequences: o.pckSequences,
    benchPerSuite: o.bench ? o.benchPerSuite ?? null : null,
    notes,
    heldout,
    rows,
  };
  await writeFileAtomic(join(o.outDir, "ablation.json"), JSON.stringify(report, finite, 1) + "\n");
  return report;
}

const pct = (
  x: number | null | undefined,
) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : (100 * x).toFixed(1));
const pm = (p: PeakPck | null) =>
  p ? `${pct(p.pck)} ± ${pct(p.pckStd)} / ${pct(p.pckMoved)} ± ${pct(p.pckMovedStd)} (L${p.layer})` : "–";

/** The table of ablation.json as markdown: one line per row, then the benchmark deltas per suite. */
export function ablationMarkdown(r: AblationReport): string {
  const h = r.heldout;
  const lines = [
    `Ablation (issue 13 item 6): ${r.rows.length} rows, n = ${r.pckSequences} held-out sequences` +
    (h
      ? ` (${h.numPairs} pairs on ${h.grid.rows}×${h.grid.cols}; stationary PCK@2 ${pct(h.stationaryPck)} %, ` +
        `moved ${pct(h.movedFraction)} %, chance ${pct(h.chancePck)} %)`
      : "") +
    `; PCK@2 in %, ± std over sequences`,
    "",
    "| row | steps | head PCK@2 all / moved (peak layer) | Q/K raw all / moved | Q/K centred all / moved | " +
    "hidden states all / moved | own-frame share (uniform) | attention on true match ×10³ (uniform) | " +
    "held-out L_LM |",
    "| --- | ---: | --- | --- | --- | --- | --- | --- | ---: |",
  ];
  for (const x of r.rows) {
    const a = x.attention;
    lines.push(
      `| ${x.name} | ${x.steps} | ${pm(x.head)} | ${pm(x.qk)} | ${pm(x.qkCentred)} | ${pm(x.hidden)} | ` +
        `${a.ownFrameShare.mean.toFixed(3)} (${a.ownFrameShareUniform.mean.toFixed(3)}) | ` +
        `${(1e3 * a.trueMatchAttention.mean).toFixed(2)} (${(1e3 * a.trueMatchAttentionUniform.mean).toFixed(2)}) | ` +
        `${x.heldoutLm.toFixed(4)} |`,
    );
  }
  const suites = [...new Set(r.rows.flatMap((x) => Object.keys(x.bench?.suites ?? {})))];
  if (suites.length) {
    const control = r.rows.find((x) => x.bench)?.bench?.control;
    lines.push(
      "",
      `Synthetic benchmarks (strict, %), ${r.benchPerSuite ?? "?"} items per suite — for direction only: ` +
        `Δ vs ${control} with its 95 % CI and p (paired test)`,
      "",
      `| row | ${suites.map((s) => s.replace(/^synthetic-/, "")).join(" | ")} |`,
      `| --- | ${suites.map(() => "---").join(" | ")} |`,
    );
    for (const x of r.rows) {
      const cells = suites.map((s) => {
        const d = x.bench?.suites[s];
        if (!d) return "–";
        if (d.diff === null) return `${pct(d.score)} (control)`;
        const ci = d.diffCi95 ? ` [${pct(d.diffCi95.lo)}, ${pct(d.diffCi95.hi)}]` : "";
        return `${pct(d.score)}: Δ ${d.diff >= 0 ? "+" : ""}${pct(d.diff)}${ci} p ${d.pValue?.toFixed(2) ?? "–"}`;
      });
      lines.push(`| ${x.name} | ${cells.join(" | ")} |`);
    }
  }
  for (const n of r.notes) lines.push("", `- ${n}`);
  return lines.join("\n");
}
