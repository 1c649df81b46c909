/**
 * The run reports the README's results come from, read and checked against the fields the tables use: a file that
 * is absent is `null` (its section then says which command makes it); a file that is there but malformed is a
 * DataFormatError naming the file, the field (a dotted path) and what was expected — never a guessed number.
 *
 * - `pck.json` of `deno task train` (train/pipeline.ts defaultPipeline: before/after PckReport[], lmBefore/lmAfter,
 *   the held-out motion summary);
 * - `report.json` of `deno task eval --json F` (eval/correspondence/report.ts, schema 2);
 * - `results.json` of `deno task bench` (eval/benchmarks/results.ts, gasp-bench-results/1), read by its own reader;
 * - `ablation.json` of the ablation runs (issue 13 item 6): rows with a name and numeric metrics.
 */
import { z } from "zod";
import { DataFormatError } from "../../core/errors.ts";
import { type BenchResults, readResults } from "../benchmarks/results.ts";
import { readTextIfExists } from "../../core/io/json_file.ts";

/** A metric that may be undefined (NaN is written as null). */
const num = z.number().nullable();
const grid = z.object({ rows: z.number().int().positive(), cols: z.number().int().positive() });

/** The held-out motion block of pck.json (core/analysis/motion.ts MotionSummary) and of report.json (HeldoutReport). */
const heldout = z.looseObject({
  grid,
  numPairs: z.number().int().nonnegative(),
  numSequences: z.number().int().nonnegative(),
  stationaryPck: num,
  stationaryPckStd: num,
  movedFraction: num,
  chancePck: num,
  medianDisplacement: num.optional(),
});

const pckReport = z.looseObject({
  source: z.string(),
  layer: z.number().int(),
  pck: num,
  pckMoved: num,
  perLayer: z.array(num),
  perLayerMoved: z.array(num),
  chance: num,
  /** Peak-layer ρ (Eq 13); absent in pck.json files written before it was added. */
  rho: num.optional(),
});

/** pck.json of `deno task train`: the base's sources before GASP, the GASP model's after. */
export const PckFileSchema = z.looseObject({
  before: z.array(pckReport),
  after: z.array(pckReport),
  lmBefore: num,
  lmAfter: num,
  sequences: z.number().int().nonnegative(),
  heldout,
  /** The sft-general control's held-out L_LM and (files written since it was added) its sources' PCK. */
  control: z.looseObject({ lm: num, pck: z.array(pckReport).optional() }).nullable().optional(),
});
export type PckFile = z.infer<typeof PckFileSchema>;

const evalCheckpoint = z.looseObject({
  name: z.string(),
  kind: z.string(),
  numLayers: z.number().int().nonnegative(),
  numSequences: z.number().int().nonnegative(),
  path: z.string().optional(),
  peak: z.looseObject({
    layer: z.number().int(),
    pck: num,
    pckStd: num.optional(),
    pckMoved: num,
    pckMovedStd: num.optional(),
    rho: num,
    robustnessAtMaxDeltaT: num.optional(),
  }),
  chance: z.looseObject({ pck: num }),
  layers: z.array(
    z.looseObject({ layer: z.number().int(), pck: num, pckMoved: num, rho: num, chanceZ: num.optional() }),
  ),
  robustness: z.looseObject({
    split: z.string(),
    numSequences: z.number().int().nonnegative(),
    deltaT: z.array(z.number().int()),
    bestLayer: z.looseObject({ layer: z.number().int(), value: z.array(num) }),
  }),
});

/** report.json of `deno task eval` (schema 2 and later: checkpoints[].peak.pckMoved and the heldout block). */
export const EvalReportSchema = z.looseObject({
  schemaVersion: z.number().int().min(2, "schema 2 or later (deno task eval of issue 13)"),
  createdAt: z.string().optional(),
  config: z.looseObject({
    data: z.string(),
    threshold: z.looseObject({ delta: z.number(), inclusive: z.boolean() }),
    maxDeltaT: z.number().int(),
  }),
  heldout,
  checkpoints: z.array(evalCheckpoint),
});
export type EvalReport = z.infer<typeof EvalReportSchema>;

const peakPck = z.looseObject({
  layer: z.number().int(),
  pck: num,
  pckStd: num.optional(),
  pckMoved: num,
  pckMovedStd: num.optional(),
  perLayerMoved: z.array(num).optional(),
});

/**
 * ablation.json of `deno task ablate` (train/ablation.ts, schema "gasp-ablation/1"): per row the head, Q/K and
 * centred Q/K peak PCK, the attention scalars (mean over layers), held-out L_LM and the benchmark deltas against the
 * control. Extra numeric fields a row carries are kept (looseObject) and shown too (ablation.ts).
 */
export const AblationSchema = z.looseObject({
  schema: z.literal("gasp-ablation/1"),
  createdAt: z.string().optional(),
  argv: z.array(z.string()).nullable(),
  pckSequences: z.number().int().nonnegative(),
  notes: z.array(z.string()).optional(),
  heldout: heldout.nullable(),
  rows: z.array(
    z.looseObject({
      name: z.string(),
      description: z.string().optional(),
      overrides: z.record(z.string(), z.unknown()).optional(),
      steps: z.number().optional(),
      head: peakPck.nullable(),
      qk: peakPck,
      qkCentred: peakPck,
      /** Absent in ablation.json files written before the hidden-state read-out. */
      hidden: peakPck.optional(),
      attention: z.record(z.string(), z.looseObject({ mean: num })),
      heldoutLm: num,
      bench: z.looseObject({
        control: z.string(),
        suites: z.record(z.string(), z.looseObject({ n: z.number(), score: num, diff: num, pValue: num })),
      }).nullable(),
    }),
  ),
});
export type AblationFile = z.infer<typeof AblationSchema>;

/** The fields of results.json the benchmark table reads (readResults checks only the schema tag). */
const BenchTableSchema = z.looseObject({
  updatedAt: z.string(),
  config: z.looseObject({ argv: z.array(z.string()).nullable() }),
  suites: z.array(
    z.looseObject({
      suite: z.string(),
      headline: z.string(),
      n: z.number().int().nonnegative(),
      chance: z.record(z.string(), num),
      majority: z.record(z.string(), num),
      control: z.string(),
      checkpoints: z.record(
        z.string(),
        z.looseObject({
          n: z.number().int().nonnegative(),
          metrics: z.record(z.string(), z.looseObject({ strict: num, robust: num })),
          ci95: z.looseObject({ lo: z.number(), hi: z.number(), method: z.string() }).nullable(),
          belowMajority: z.array(z.string()),
          modalAnswer: z.looseObject({ answer: z.string(), share: z.number() }).nullable().optional(),
        }),
      ),
      comparisons: z.array(
        z.looseObject({ a: z.string(), b: z.string(), n: z.number(), diff: num, pValue: num, test: z.string() }),
      ),
    }),
  ),
});

/** The dotted path of a zod issue ("checkpoints.3.peak.pckMoved"), or "(root)". */
function fieldOf(issue: z.core.$ZodIssue): string {
  return issue.path.length ? issue.path.map(String).join(".") : "(root)";
}

/** Checks `data` (read from `file`) against `schema`; the first problem becomes a DataFormatError naming its field. */
export function checkShape<T>(file: string, what: string, schema: z.ZodType<T>, data: unknown): T {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new DataFormatError(file, fieldOf(issue), `${what}: ${issue.message}`);
}

/** Reads and checks a JSON file; null when it does not exist. */
export async function readJsonInput<T>(file: string, what: string, schema: z.ZodType<T>): Promise<T | null> {
  const text = await readTextIfExists(file);
  if (text === null) return null;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new DataFormatError(file, "(file)", `JSON (${what})`, (e as Error).message);
  }
  return checkShape(file, what, schema, data);
}

/** results.json through the bench's own reader (schema tag), then the fields the table uses. */
export async function readBenchInput(file: string): Promise<BenchResults | null> {
  const r = await readResults(file);
  if (r) checkShape(file, "bench results.json", BenchTableSchema, r);
  return r;
}
