/**
 * All-Angles Bench (`ch-chenyu/All-Angles-Bench`): loader, prompt, extraction and accuracy.
 *
 * Format (verification record):
 * - `data.json` at the dataset root: a JSON array of records {index, folder, category, pair_idx, sourced_dataset?,
 *   image_path: string[] (relative to the root), question, A, B, C, answer}. Field names from
 *   benchmark-formats.md [V, third-party loader]. Category strings checked against a public per-category count of
 *   the real file (2,132 rows: relative_distance 494, manipulation 476, attribute_identification 383,
 *   relative_direction 352, counting 251, camera_pose_estimation 176 — sums to 2,132) → `ALL_ANGLES_CATEGORIES`.
 *   Unknown categories are accepted (reported as their own group), not rejected.
 * - [U, unverified] `pair_idx` type (we accept string or number), exact `sourced_dataset` strings, whether `answer` is
 *   always a letter (we require a letter among the options and fail naming the row otherwise).
 * - `--data` is the dataset folder as the Hugging Face snapshot lays it out (`data.json` beside the scene folders) or
 *   data.json itself. Every `image_path` must stay inside that folder (data_root.ts), or the row is refused.
 * - Ego-Exo4D images are not shipped; a missing image file is a DataFormatError naming the row (rebuild them with the
 *   authors' `data/process_egoexo4d.py`).
 *
 * Prompt (VLMEvalKit `ImageMCQDataset.build_prompt`, used by the authors' fork): all images in list order, then
 * `Question: {question}\nOptions:\nA. {A}\nB. {B}\nC. {C}\nPlease select the correct answer from the options above. \n`
 * (note the space before the last newline; no hint line since data.json has no `hint`). The question text is sent
 * as is (it already embeds the options in the real file).
 * Scoring: `mcq_vanilla_eval` with `exact_matching` = VLMEvalKit `can_infer` (harness_extraction.ts); an
 * unparseable answer counts as wrong. Overall = micro accuracy; plus accuracy per `category` (VLMEvalKit `report_acc`).
 */
import { join } from "node:path";
import { z } from "zod";
import { DataFormatError } from "../../core/errors.ts";
import { allAnglesPrompt } from "../../core/prompts/all_angles.ts";
import { insideRoot } from "./data_root.ts";
import { canInfer } from "./harness_extraction.ts";
import { groupMeans, mean, putSorted, suiteScores } from "./metrics.ts";
import { describe } from "./parquet_table.ts";
import { scoreChoice } from "./robust_extraction.ts";
import type { BenchmarkModule, LoadOptions } from "./suite.ts";
import type { BenchItem, ItemScore } from "./types.ts";

export const ALL_ANGLES_CATEGORIES = [
  "attribute_identification",
  "camera_pose_estimation",
  "counting",
  "manipulation",
  "relative_direction",
  "relative_distance",
] as const;

const intLike = z.union([
  z.number().int(),
  z.string().regex(/^-?\d+$/, "an integer or integer string").transform(Number),
]);

export const AllAnglesRecord = z.object({
  index: intLike,
  folder: z.string(),
  category: z.string().min(1),
  pair_idx: z.union([z.string(), z.number()]).optional(),
  sourced_dataset: z.string().optional(),
  image_path: z.array(z.string().min(1)).min(1),
  question: z.string(),
  A: z.string(),
  B: z.string(),
  C: z.string(),
  D: z.string().optional(),
  answer: z.string(),
});
export type AllAnglesRecord = z.output<typeof AllAnglesRecord>;

// The prompt wording lives in core/prompts (the general instruction data uses it too).
export { allAnglesPrompt } from "../../core/prompts/all_angles.ts";

/** `path` is the dataset root (holding data.json) or the data.json file itself. */
async function load(path: string, opts: LoadOptions = {}): Promise<BenchItem[]> {
  const file = path.endsWith(".json") ? path : join(path, "data.json");
  const root = path.endsWith(".json") ? join(file, "..") : path;
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(file));
  } catch (e) {
    throw new DataFormatError(file, "(file)", "a readable JSON file", (e as Error).message);
  }
  if (!Array.isArray(raw)) throw new DataFormatError(file, "(root)", "a JSON array of records", describe(raw));
  const rows = opts.limit !== undefined ? raw.slice(0, opts.limit) : raw;
  const seen = new Set<string>();
  return rows.map((row, i): BenchItem => {
    const r = AllAnglesRecord.safeParse(row);
    if (!r.success) {
      const issue = r.error.issues[0];
      const field = issue.path.map(String).join(".") || "(record)";
      throw new DataFormatError(
        file,
        `row ${i}: ${field}`,
        issue.message,
        `index ${(row as { index?: unknown })?.index}`,
      );
    }
    const rec = r.data;
    const choices: Record<string, string> = { A: rec.A, B: rec.B, C: rec.C };
    if (rec.D !== undefined) choices.D = rec.D;
    const answer = rec.answer.trim();
    if (!(answer in choices)) {
      throw new DataFormatError(
        file,
        `row ${i}: answer`,
        `one of ${Object.keys(choices).join("/")}`,
        describe(rec.answer),
      );
    }
    const id = String(rec.index);
    if (seen.has(id)) throw new DataFormatError(file, `row ${i}: index`, "a unique index", `duplicate ${id}`);
    seen.add(id);
    const images = rec.image_path.map((p, j) => {
      const full = insideRoot(root, [p], file, `row ${i}: image_path[${j}]`);
      try {
        Deno.statSync(full);
      } catch {
        throw new DataFormatError(
          file,
          `row ${i}: image_path[${j}]`,
          `an image file at ${full}`,
          rec.sourced_dataset?.toLowerCase().includes("exo")
            ? "Ego-Exo4D frames are not shipped: build them with the authors' data/process_egoexo4d.py"
            : "file not found",
        );
      }
      return { kind: "file" as const, path: full, file, row: i, field: `image_path[${j}]` };
    });
    return {
      id,
      benchmark: "all-angles",
      category: rec.category,
      images,
      prompt: allAnglesPrompt({ question: rec.question, choices }),
      answerKind: "choice",
      gold: answer,
      choices,
      maxTokens: 64,
      meta: { folder: rec.folder, sourced_dataset: rec.sourced_dataset ?? "", pair_idx: String(rec.pair_idx ?? "") },
    };
  });
}

function score(item: BenchItem, output: string): ItemScore {
  return scoreChoice(item, output, (o, choices) => canInfer(o, choices) || "");
}

function aggregate(items: readonly BenchItem[], scores: readonly ItemScore[]) {
  return suiteScores("all-angles", items.length, (k) => {
    const out: Record<string, number> = { overall: mean(scores.map((s) => s[k])) };
    putSorted(out, groupMeans(scores, (s) => s.category, (s) => s[k]));
    return out;
  });
}

/** All-Angles Bench (`data.json` + images): load, score as its harness does, aggregate per category. */
export const allAngles: BenchmarkModule = { name: "all-angles", load, score, aggregate };
