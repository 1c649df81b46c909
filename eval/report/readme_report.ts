/**
 * `deno task report`: the README's results sections rebuilt from the run reports (issue 13 item 8), so no number in
 * them is typed by hand. Each section lies between `<!-- report:NAME -->` markers (markers.ts); everything outside
 * them stays byte for byte, and the file is replaced atomically. A report that does not exist yet gives its section
 * a "not run yet" line with the command that makes it.
 */
import { join, resolve } from "node:path";
import { withPath } from "../../core/io/atomic.ts";
import type { BenchResults } from "../benchmarks/results.ts";
import { ablationSection } from "./ablation.ts";
import { benchSection } from "./bench.ts";
import { evalCommand, evalSection, pckSection } from "./correspondence.ts";
import { notRunYet, table, wrapProse } from "./format.ts";
import {
  type AblationFile,
  AblationSchema,
  type EvalReport,
  EvalReportSchema,
  type PckFile,
  PckFileSchema,
  readBenchInput,
  readJsonInput,
} from "./inputs.ts";
import { replaceSections } from "./markers.ts";
import { targetRows } from "./targets.ts";

/** The generated sections, in README order. */
export const REPORT_SECTIONS = ["correspondence", "benchmarks", "validation", "ablation", "targets"] as const;

/** Where the run reports are and what the models are called in them. */
export interface ReportOptions {
  /** The runs folder (`runs`); the defaults below lie in it. */
  runs: string;
  /** `deno task eval --json` report at the default grid (default RUNS/eval.json). */
  eval?: string;
  /** The same at a 16 × 16 token grid (default RUNS/eval16.json). */
  eval16?: string;
  /** Model labels: base, GASP and the benchmark control. */
  base?: string;
  gasp?: string;
  control?: string;
  /** Paths in the eval reports are shown relative to this folder (default: the working folder). */
  cwd?: string;
}

/** The run reports as read (null: absent), with their paths. */
export interface ReportInputs {
  files: { pck: string; eval: string; eval16: string; bench: string; benchValidation: string; ablation: string };
  pck: PckFile | null;
  eval: EvalReport | null;
  eval16: EvalReport | null;
  bench: BenchResults | null;
  /** The same suites on another draw (another synthetic seed): how far a score moves when only the items change. */
  benchValidation: BenchResults | null;
  ablation: AblationFile | null;
}

/** Reads every run report; a malformed one throws a DataFormatError naming the file and the field. */
export async function readReportInputs(o: ReportOptions): Promise<ReportInputs> {
  const files = {
    pck: join(o.runs, "gasp", "pck.json"),
    eval: o.eval ?? join(o.runs, "eval.json"),
    eval16: o.eval16 ?? join(o.runs, "eval16.json"),
    bench: join(o.runs, "bench", "results.json"),
    benchValidation: join(o.runs, "bench-val", "results.json"),
    ablation: join(o.runs, "ablate", "ablation.json"),
  };
  // Relative paths are read from o.cwd (the folder the report is about), shown as given.
  const at = (f: string) => (o.cwd === undefined ? f : resolve(o.cwd, f));
  return {
    files,
    pck: await readJsonInput(at(files.pck), "pck.json of deno task train", PckFileSchema),
    eval: await readJsonInput(at(files.eval), "report.json of deno task eval", EvalReportSchema),
    eval16: await readJsonInput(at(files.eval16), "report.json of deno task eval", EvalReportSchema),
    bench: await readBenchInput(at(files.bench)),
    benchValidation: await readBenchInput(at(files.benchValidation)),
    ablation: await readJsonInput(at(files.ablation), "ablation.json", AblationSchema),
  };
}

/** Every section's Markdown body. */
export function renderSections(i: ReportInputs, o: ReportOptions): Record<(typeof REPORT_SECTIONS)[number], string> {
  const s = rawSections(i, o);
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, wrapProse(v)])) as typeof s;
}

function rawSections(i: ReportInputs, o: ReportOptions): Record<(typeof REPORT_SECTIONS)[number], string> {
  const cwd = o.cwd ?? Deno.cwd();
  const f = i.files;
  const base = o.base ?? "base", gasp = o.gasp ?? "gasp", control = o.control ?? "sft-general";
  const evalCmd = evalCommand(
    i.eval,
    f.eval,
    cwd,
    `deno task eval --model runs/${base} --model runs/${gasp} --json ${f.eval}`,
  );
  const eval16Cmd = evalCommand(
    i.eval16,
    f.eval16,
    cwd,
    `deno task data --grid 16 --out runs/data16 && deno task eval --model runs/${base} --data runs/data16 --json ${f.eval16}`,
  );
  const rows = targetRows({
    pck: i.pck,
    pckFile: f.pck,
    eval: i.eval,
    evalFile: f.eval,
    eval16: i.eval16,
    eval16File: f.eval16,
    bench: i.bench,
    benchFile: f.bench,
    base,
    gasp,
    control,
  });
  const missing = [
    !i.eval16 && `N = 16: \`${eval16Cmd}\``,
    !i.eval && `the eval report: \`${evalCmd}\``,
    !i.pck && "pck.json: `deno task train`",
    !i.bench && "the benchmarks: `deno task bench`",
  ].filter(Boolean);
  return {
    correspondence: [
      "**Training run** (PCK lines of `deno task train`):",
      "",
      pckSection(i.pck, f.pck),
      "",
      "**Correspondence analysis** (`deno task eval`):",
      "",
      evalSection(i.eval, f.eval, evalCmd),
      ...(i.eval16 ? ["", "**At N = 16 tokens per frame side:**", "", evalSection(i.eval16, f.eval16, eval16Cmd)] : []),
    ].join("\n"),
    benchmarks: benchSection(i.bench, f.bench),
    validation: validationSection(i.benchValidation, f.benchValidation, base),
    ablation: ablationSection(i.ablation, f.ablation),
    targets: [
      ...table(["paper target", "reached (source)", "met"], rows.map((r) => [r.target, r.reached, r.met])),
      ...(missing.length ? ["", `To measure what is missing: ${missing.join("; ")}.`] : []),
    ].join("\n"),
  };
}

/**
 * The benchmark table on a second draw of the synthetic suites (bench's --synthetic-seed), for the base: a model
 * with no skill on a balanced suite lands above or below the majority baseline by the luck of the draw, and this
 * table shows by how much.
 */
function validationSection(r: BenchResults | null, file: string, base: string): string {
  const command = `deno task bench --model runs/${base} --synthetic-seed 7 --out ${join(file, "..")}`;
  if (!r) return notRunYet(file, command);
  const seed = r.config.synthetic?.seed;
  return [
    `A second draw of the same suites${typeof seed === "number" ? ` (synthetic seed ${seed})` : ""}: the same ` +
    "generators and item counts, other scenes and questions.",
    "",
    benchSection(r, file),
  ].join("\n");
}

/** The README with its sections rebuilt, and whether that differs from the file as it is. */
export async function buildReadme(
  readme: string,
  o: ReportOptions,
): Promise<{ before: string; after: string; stale: boolean; inputs: ReportInputs }> {
  const before = await withPath(readme, "read", () => Deno.readTextFile(readme));
  const inputs = await readReportInputs(o);
  const after = replaceSections(before, renderSections(inputs, o), readme);
  return { before, after, stale: after !== before, inputs };
}
