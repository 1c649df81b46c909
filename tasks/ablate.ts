/**
 * deno task ablate — issue 13 item 6: one GASP run per candidate cause of "the backbone does not change", all from
 * the same base, data and seed, measured alike (train/ablation.ts), then benchmarked on the synthetic suites against
 * sft-general (eval/benchmarks runBench). Writes runs/ablate/<row>/ and runs/ablate/ablation.json; prints the table.
 * `--help` lists the flags and the rows.
 */
import { resolve } from "node:path";
import { defineCommand, flag, runCommand } from "../core/cli.ts";
import { ConfigError } from "../core/errors.ts";
import { deviceFlags, initDevice } from "../core/device_init.ts";
import { runBench, SYNTHETIC_SUITES } from "../eval/benchmarks/bench_run.ts";
import { controlDeltas } from "../eval/benchmarks/control_deltas.ts";
import { loadBenchModel, type LoadedBenchModel } from "../eval/benchmarks/models.ts";
import { DEFAULT_SYNTHETIC } from "../eval/benchmarks/synthetic/build.ts";
import {
  ABLATION_ROW_NAMES,
  ABLATION_ROWS,
  type AblationBench,
  ablationMarkdown,
  runAblation,
} from "../train/ablation.ts";
import { ensureBase, ensureData } from "../train/pipeline.ts";

/** Items per synthetic suite: reduced from bench's 300 so every row fits; the rows are for direction (CIs given). */
const ABLATE_PER_SUITE = 100;

const cmd = defineCommand({
  name: "ablate",
  summary: "Run the candidate causes of issue 13 item 6 (one GASP run each) and write one table.",
  description: "Rows, in run order: " + ABLATION_ROWS.map((r) => `${r.name} = ${r.description}`).join("; ") +
    ". Every row trains from the same base (--model, default runs/base, trained there if missing), data (--data, " +
    "default runs/data, generated there if missing) and seed into OUT/<row>/, and is measured on the held-out " +
    "split: head and Q/K (raw, centred) peak-layer PCK@2 on all and moved pairs, own-frame attention share, " +
    "attention on the true frame-0 match, held-out L_LM; then the synthetic suites (--per-suite items each, " +
    "fewer than the 300 a reported table needs: for direction, with CIs) against sft-general. A row whose " +
    "OUT/<row>/row.json has the same config is reused. OUT/ablation.json holds the rows (schema in " +
    "train/ablation.ts); the markdown table goes to stdout.",
  flags: {
    rows: flag.string(`comma-separated rows (default all: ${ABLATION_ROW_NAMES.join(",")})`, { placeholder: "A,B" }),
    maxSteps: flag.int("optimizer steps of a 1× row (default: the config's steps; steps-4x trains 4×)", { min: 1 }),
    seed: flag.int("seed of every row", { default: 0, min: 0 }),
    data: flag.string("shard folder (default runs/data, generated there if missing)", { placeholder: "DIR" }),
    model: flag.string("base model (default runs/base, trained there if missing)", { placeholder: "DIR" }),
    out: flag.string("output folder", { default: "runs/ablate", placeholder: "DIR" }),
    pckSequences: flag.int("held-out sequences measured per row (n)", { default: 24, min: 1 }),
    perSuite: flag.int("questions per synthetic suite", { default: ABLATE_PER_SUITE, min: 1 }),
    noBench: flag.boolean("skip the benchmarks (correspondence, attention and L_LM only)"),
    ...deviceFlags,
  },
  check: (v) => {
    for (const n of v.rows?.split(",") ?? []) {
      if (!ABLATION_ROW_NAMES.includes(n)) {
        throw new ConfigError("--rows", `unknown row "${n}"; choose from ${ABLATION_ROW_NAMES.join(", ")}`);
      }
    }
  },
});

await runCommand(cmd, Deno.args, async (v) => {
  const log = (l: string) => console.error(l);
  await initDevice({ device: v.device, threads: v.threads });
  const dataDir = v.data ?? "runs/data", baseDir = v.model ?? "runs/base";
  await ensureData(dataDir, log, v.data !== undefined);
  await ensureBase(baseDir, dataDir, log, v.model !== undefined);
  const bench: AblationBench = async (models, control) => {
    const checkpoints: LoadedBenchModel[] = [];
    try {
      for (const m of models) checkpoints.push({ ...await loadBenchModel(m.dir, { log }), name: m.name });
      const { results } = await runBench({
        suites: SYNTHETIC_SUITES,
        data: {},
        checkpoints,
        outDir: resolve(v.out, "bench"),
        maxTokens: 16,
        synthetic: { ...DEFAULT_SYNTHETIC, perSuite: v.perSuite },
        control,
        log,
        argv: ["deno", "task", "ablate", ...Deno.args],
      });
      return {
        control,
        rows: controlDeltas(results, models.map((m) => m.name), control),
        notes: [
          `benchmarks: the six synthetic suites, ${v.perSuite} items each (bench's default is 300): for ` +
          `direction only, 95 % CIs and paired tests (McNemar) given; results in ${resolve(v.out, "bench")}`,
        ],
      };
    } finally {
      for (const c of checkpoints) await c.release();
    }
  };
  const report = await runAblation({
    dataDir,
    baseDir,
    outDir: v.out,
    rows: v.rows?.split(","),
    steps: v.maxSteps,
    seed: v.seed,
    pckSequences: v.pckSequences,
    bench: v.noBench ? undefined : bench,
    benchPerSuite: v.perSuite,
    argv: ["deno", "task", "ablate", ...Deno.args],
    log,
  });
  console.log(ablationMarkdown(report));
  log(`ablate: ${resolve(v.out, "ablation.json")}`);
});
