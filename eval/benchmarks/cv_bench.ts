/**
 * CV-Bench (`nyu-visionx/CV-Bench`, Cambrian-1): loader (2D and 3D), lmms-eval prompt, anchored-letter extraction,
 * the official ½·((ADE20K + COCO)/2 + Omni3D) score and micro accuracy.
 *
 * Format (verification record):
 * - lmms-eval `tasks/cv_bench/utils.py` + `_default_template_yaml` read 2026-11-26: text =
 *   pre_prompt.format("A, B, …") + "\n" + doc["prompt"] with pre_prompt "Note: You only need to respond with {} without
 *   providing any additional information.\n" (so a blank line precedes the prompt); one image `doc["image"]`;
 *   gold = `answer.strip("()")`; extraction identical to BLINK; `cv_bench_default_aggregate_results` =
 *   ½·((acc_ADE20K + acc_COCO)/2 + acc_Omni3D) grouping by `source`; `cv_bench_aggregate_results` = micro accuracy.
 * - Columns idx, type ("2D"/"3D"), task, image (HF Image struct {bytes, path}), choices, answer "(A)", prompt, source
 *   — benchmark-formats.md [V]. [U] exact task strings beyond Count/Relation/Depth (we accept any string) and the
 *   type of `idx` (we accept int or string).
 * - Files: `test_2d.parquet` + `test_3d.parquet` (current main), or older `test.parquet`; pass a file or the dataset
 *   folder as the Hugging Face snapshot lays it out (cvBenchParquetFiles).
 *   The official score needs all three sources; with one missing it is reported as NaN ("n/a").
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { DataFormatError } from "../../core/errors.ts";
import { checkImageBytes } from "./images.ts";
import { groupMeans, mean, putSorted, suiteScores } from "./metrics.ts";
import { describe, parseRow, readParquetRows } from "./parquet_table.ts";
import { cvBenchPrompt } from "../../core/prompts/lmms_mc.ts";
import { findParquetFiles, HfImage, scoreLeadingLetter } from "./blink.ts";
import { LETTERS, lettersFor } from "./suite.ts";
import type { BenchmarkModule, LoadOptions } from "./suite.ts";
import type { BenchItem, ItemScore } from "./types.ts";

const CvRow = z.object({
  idx: z.union([z.bigint().transform(String), z.number().int().transform(String), z.string().min(1)]),
  type: z.enum(["2D", "3D"]),
  task: z.string().min(1),
  image: HfImage,
  choices: z.array(z.string()).min(2).max(5),
  answer: z.string().regex(/^\([A-E]\)$/, 'a letter in parentheses like "(A)"'),
  prompt: z.string(),
  source: z.string().min(1),
});

// The prompt wording lives in core/prompts (the general instruction data uses it too).
export { cvBenchPrompt } from "../../core/prompts/lmms_mc.ts";

/**
 * The parquet files of `path`: the file itself, or in the dataset folder as the Hugging Face snapshot lays it out,
 * `test_2d.parquet` + `test_3d.parquet` (current main) when present, else the older single `test.parquet`, else any
 * `test*.parquet` below the folder. A snapshot holding both layouts is read once, not twice.
 */
export function cvBenchParquetFiles(path: string): string[] {
  if (!existsSync(path)) {
    throw new DataFormatError(path, "(path)", "the CV-Bench dataset folder or a parquet file", "it does not exist");
  }
  if (Deno.statSync(path).isFile) return [path];
  const split = ["test_2d.parquet", "test_3d.parquet"].map((n) => join(path, n)).filter((p) => existsSync(p));
  if (split.length) return split;
  if (existsSync(join(path, "test.parquet"))) return [join(path, "test.parquet")];
  return findParquetFiles(path, "test");
}

async function load(path: string, opts: LoadOptions = {}): Promise<BenchItem[]> {
  const items: BenchItem[] = [];
  const seen = new Set<string>();
  for (const file of cvBenchParquetFiles(path)) {
    const rows = await readParquetRows(file, ["idx", "type", "task", "image", "choices", "answer", "prompt", "source"]);
    for (const [i, row] of rows.entries()) {
      if (opts.limit !== undefined && items.length >= opts.limit) return items;
      const r = parseRow(CvRow, row, file, i);
      const id = `${r.type}_${r.idx}`;
      if (seen.has(id)) throw new DataFormatError(file, `row ${i}: idx`, "a unique idx per type", `duplicate ${r.idx}`);
      seen.add(id);
      const gold = r.answer.slice(1, 2);
      if (LETTERS.indexOf(gold) >= r.choices.length) {
        throw new DataFormatError(file, `row ${i}: answer`, `one of ${r.choices.length} choices`, describe(r.answer));
      }
      const { mime } = checkImageBytes(r.image.bytes, file, `row ${i}: image.bytes`);
      items.push({
        id,
        benchmark: "cv-bench",
        category: `${r.type}/${r.task}`,
        images: [{ kind: "bytes", bytes: r.image.bytes, mime, file, row: i, field: "image.bytes" }],
        prompt: cvBenchPrompt(r.choices, r.prompt),
        answerKind: "choice",
        gold,
        choices: lettersFor(r.choices),
        maxTokens: 1024,
        meta: { type: r.type, task: r.task, source: r.source },
      });
    }
  }
  return items;
}

/** Official CV-Bench score from per-source accuracies; NaN when a source is absent. */
export function cvBenchOfficial(bySource: ReadonlyMap<string, number>): number {
  const a = bySource.get("ADE20K"), c = bySource.get("COCO"), o = bySource.get("Omni3D");
  if (a === undefined || c === undefined || o === undefined) return NaN;
  return 0.5 * ((a + c) / 2 + o);
}

function aggregate(items: readonly BenchItem[], scores: readonly ItemScore[]) {
  const meta = new Map(items.map((it) => [it.id, it.meta]));
  return suiteScores("cv-bench", items.length, (k) => {
    const bySource = groupMeans(scores, (s) => meta.get(s.id)!.source, (s) => s[k]);
    const byType = groupMeans(scores, (s) => meta.get(s.id)!.type, (s) => s[k]);
    const byCat = groupMeans(scores, (s) => s.category, (s) => s[k]);
    const out: Record<string, number> = { official: cvBenchOfficial(bySource), overall: mean(scores.map((s) => s[k])) };
    for (const t of ["2D", "3D"]) if (byType.has(t)) out[t] = byType.get(t)!;
    putSorted(out, bySource, "source:");
    putSorted(out, byCat);
    return out;
  });
}

/** CV-Bench (parquet + images): load, leading-letter scoring, the official 2D/3D accuracy. */
export const cvBench: BenchmarkModule = { name: "cv-bench", load, score: scoreLeadingLetter, aggregate };
