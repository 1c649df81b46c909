/**
 * BLINK (`BLINK-Benchmark/BLINK`): loader for all 14 subtasks, lmms-eval prompt, anchored-letter extraction,
 * per-subtask accuracy and the official mean over subtasks.
 *
 * Format (verification record):
 * - lmms-eval `tasks/blink/utils.py` + `_default_template_yaml` read 2026-11-26: images are the non-null `image_N`
 *   columns (regex `^image_\d+$`) in key order; text = "Note: You only need to respond with {A, B, …} without providing
 *   any additional information.\n" + doc["prompt"] (no separator); gold = `answer.strip("()")`; extraction =
 *   `re.match(r"[\(\s]*([A-Z])[\)\.\s]*", text.strip(), re.I)`; split `val`; max_new_tokens 1024; lmms-eval's
 *   `blink_acc` is micro accuracy over the rows it is given.
 * - Official BLINK `eval/evaluate.py` (benchmark-formats.md [V]): accuracy per subtask, Total = unweighted mean over
 *   subtasks → our `overall`. We also report `micro`.
 * - Columns idx, question, sub_task, image_1..image_4 (HF Image = struct {bytes, path}, null when unused), choices
 *   list<string>, answer "(A)", prompt — benchmark-formats.md [V]. [U] that every subtask's parquet carries all four
 *   image columns (we require image_1 and accept image_2..4 being absent); [U] test-split answers (hidden).
 * - Files: a parquet file, or a folder searched recursively for `{split}-*.parquet` (HF layout
 *   `{SubTask}/val-00000-of-00001.parquet`).
 */
import { join } from "node:path";
import { z } from "zod";
import { DataFormatError } from "../../core/errors.ts";
import { blinkPrompt } from "../../core/prompts/lmms_mc.ts";
import { lmmsLeadingLetter } from "./harness_extraction.ts";
import { checkImageBytes } from "./images.ts";
import { groupMeans, mean, putSorted, suiteScores } from "./metrics.ts";
import { describe, parseRow, readParquetRows, statDataPath } from "./parquet_table.ts";
import { scoreChoice } from "./robust_extraction.ts";
import { LETTERS, lettersFor } from "./suite.ts";
import type { BenchmarkModule, LoadOptions } from "./suite.ts";
import type { BenchItem, ImageSource, ItemScore } from "./types.ts";

// The prompt wording lives in core/prompts (the general instruction data uses it too).
export { blinkPrompt, LMMS_MC_PRE_PROMPT, lmmsMcPrePrompt } from "../../core/prompts/lmms_mc.ts";

export const BLINK_SUBTASKS = [
  "Art_Style",
  "Counting",
  "Forensic_Detection",
  "Functional_Correspondence",
  "IQ_Test",
  "Jigsaw",
  "Multi-view_Reasoning",
  "Object_Localization",
  "Relative_Depth",
  "Relative_Reflectance",
  "Semantic_Correspondence",
  "Spatial_Relation",
  "Visual_Correspondence",
  "Visual_Similarity",
] as const;

export const HfImage = z.object({
  bytes: z.instanceof(Uint8Array, { message: "image bytes" }),
  path: z.string().nullable().optional(),
});

const BlinkRow = z.object({
  idx: z.string().min(1),
  sub_task: z.string().min(1),
  choices: z.array(z.string()).min(2).max(5),
  answer: z.string().regex(/^\([A-E]\)$/, 'a letter in parentheses like "(A)"'),
  prompt: z.string(),
  image_1: HfImage,
  image_2: HfImage.nullable().optional(),
  image_3: HfImage.nullable().optional(),
  image_4: HfImage.nullable().optional(),
});

/** Parquet files under `path` (a file, or a folder searched recursively for `{split}-*.parquet` / `*.parquet`). */
export function findParquetFiles(path: string, prefix: string): string[] {
  if (statDataPath(path, "the dataset folder or a parquet file").isFile) return [path];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory) walk(p);
      else if (e.name.endsWith(".parquet") && e.name.startsWith(prefix)) out.push(p);
    }
  };
  walk(path);
  if (out.length === 0) throw new DataFormatError(path, "(folder)", `${prefix}*.parquet files`, "none found");
  return out;
}

async function load(path: string, opts: LoadOptions = {}): Promise<BenchItem[]> {
  const items: BenchItem[] = [];
  const seen = new Set<string>();
  for (const file of findParquetFiles(path, "val")) {
    const rows = await readParquetRows(file, ["idx", "sub_task", "choices", "answer", "prompt", "image_1"]);
    for (const [i, row] of rows.entries()) {
      if (opts.limit !== undefined && items.length >= opts.limit) return items;
      const r = parseRow(BlinkRow, row, file, i);
      if (seen.has(r.idx)) throw new DataFormatError(file, `row ${i}: idx`, "a unique idx", `duplicate ${r.idx}`);
      seen.add(r.idx);
      const gold = r.answer.slice(1, 2);
      if (LETTERS.indexOf(gold) >= r.choices.length) {
        throw new DataFormatError(file, `row ${i}: answer`, `one of ${r.choices.length} choices`, describe(r.answer));
      }
      const images: ImageSource[] = [];
      for (const key of ["image_1", "image_2", "image_3", "image_4"] as const) {
        const img = r[key];
        if (!img) continue;
        const { mime } = checkImageBytes(img.bytes, file, `row ${i}: ${key}.bytes`);
        images.push({ kind: "bytes", bytes: img.bytes, mime, file, row: i, field: `${key}.bytes` });
      }
      items.push({
        id: r.idx,
        benchmark: "blink",
        category: r.sub_task,
        images,
        prompt: blinkPrompt(r.choices, r.prompt),
        answerKind: "choice",
        gold,
        choices: lettersFor(r.choices),
        maxTokens: 1024,
        meta: {},
      });
    }
  }
  return items;
}

export function scoreLeadingLetter(item: BenchItem, output: string): ItemScore {
  return scoreChoice(item, output, (o) => lmmsLeadingLetter(o));
}

function aggregate(items: readonly BenchItem[], scores: readonly ItemScore[]) {
  return suiteScores("blink", items.length, (k) => {
    const g = groupMeans(scores, (s) => s.category, (s) => s[k]);
    const out: Record<string, number> = { overall: mean([...g.values()]), micro: mean(scores.map((s) => s[k])) };
    putSorted(out, g);
    return out;
  });
}

/** BLINK (`{split}-*.parquet` per sub-task): load, lmms-eval leading-letter scoring, per-sub-task accuracy. */
export const blink: BenchmarkModule = { name: "blink", load, score: scoreLeadingLetter, aggregate };
