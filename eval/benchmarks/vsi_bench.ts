/**
 * VSI-Bench (`nyu-visionx/VSI-Bench`, "Thinking in Space"): loader, prompt, extraction and the 8-task score.
 *
 * Format (verification record):
 * - `test-00000-of-00001.parquet` columns `id` int64, `dataset`, `scene_name`, `question_type`, `question`,
 *   `ground_truth` (strings), `options` list<string> (null for numeric questions) — benchmark-formats.md [V, HF copy's
 *   feature list + a real row]. Videos at `{videoDir}/{dataset}/{scene_name}.mp4` as lmms-eval
 *   `vsibench_doc_to_visual` builds the path (read in lmms-eval `tasks/vsibench/utils.py`, 2026-11-26).
 * - `--data` is the dataset folder as the Hugging Face snapshot lays it out (the parquet beside `arkitscenes/`,
 *   `scannet/`, `scannetpp/`, unzipped from the shipped zips) or the parquet file; `dataset` and `scene_name` must
 *   not lead out of the video (or frames) folder (data_root.ts).
 * - Question types, prompt, `fuzzy_matching`, `exact_match`, `to_float`, MRA and `vsibench_aggregate_results` were read
 *   in lmms-eval `tasks/vsibench/utils.py` (same date): MCA prompt
 *   `"\n".join([pre, question, "Options:\n" + "\n".join(options), post])`, NA prompt `pre + "\n" + question + "\n" + post`,
 *   pre = "These are frames of a video." (yaml default is empty, so the fallback text is used),
 *   overall = unweighted mean over the task scores present, with rel-direction easy/medium/hard averaged first.
 * - [U] MCA `options` strings look like "A. front-left" and `ground_truth` is the letter (consistent with lmms-eval
 *   comparing the first token of the prediction to ground_truth); we validate exactly that and name the row if not.
 * - Frame sampling is model-specific in lmms-eval (e.g. 32 or 64 frames); ours is `--frames` (default 8), evenly
 *   spaced. Generation: `max_new_tokens: 16`, greedy (vsibench.yaml).
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import { DataFormatError } from "../../core/errors.ts";
import { vsiMultipleChoicePrompt, vsiNumericPrompt } from "../../core/prompts/vsi.ts";
import { insideRoot } from "./data_root.ts";
import { pythonFloat, vsiFuzzyMatching } from "./harness_extraction.ts";
import { groupMeans, mean, meanRelativeAccuracy, suiteScores } from "./metrics.ts";
import { describe, parseRow, readParquetRows, statDataPath } from "./parquet_table.ts";
import { robustChoice, robustNumber } from "./robust_extraction.ts";
import type { BenchmarkModule, LoadOptions } from "./suite.ts";
import type { BenchItem, ImageSource, ItemScore } from "./types.ts";

export const VSI_MCA_TYPES = [
  "object_rel_direction_easy",
  "object_rel_direction_medium",
  "object_rel_direction_hard",
  "object_rel_distance",
  "route_planning",
  "obj_appearance_order",
] as const;
export const VSI_NA_TYPES = [
  "object_abs_distance",
  "object_counting",
  "object_size_estimation",
  "room_size_estimation",
] as const;
export const VSI_COLUMNS = ["id", "dataset", "scene_name", "question_type", "question", "ground_truth", "options"];

// The prompt wording lives in core/prompts (the general instruction data uses it too).
export { VSI_MCA_POST, VSI_NA_POST, VSI_PRE_PROMPT } from "../../core/prompts/vsi.ts";

export const VsiRow = z.object({
  id: z.union([z.bigint().transform(Number), z.number().int()]),
  dataset: z.string().min(1),
  scene_name: z.string().min(1),
  question_type: z.enum([...VSI_MCA_TYPES, ...VSI_NA_TYPES]),
  question: z.string(),
  ground_truth: z.string(),
  options: z.array(z.string()).nullable(),
});
export type VsiRow = z.output<typeof VsiRow>;

export function isVsiNumeric(questionType: string): boolean {
  return (VSI_NA_TYPES as readonly string[]).includes(questionType);
}

export function vsiPrompt(
  r: { question_type: string; question: string; options: string[] | null },
  prior = "",
): string {
  const question = prior ? `${r.question}\n${prior}` : r.question;
  if (isVsiNumeric(r.question_type)) return vsiNumericPrompt(question);
  return vsiMultipleChoicePrompt(question, r.options ?? []);
}

/** "A. front-left" → ["A", "front-left"]. */
function parseOption(o: string): [string, string] | null {
  const m = /^\s*([A-Z])[.)]\s*(.*)$/s.exec(o);
  return m ? [m[1], m[2]] : null;
}

/** Where VSI-Bench's videos are unpacked, by `dataset` (the snapshot ships them as `{dataset}.zip`). */
export const VSI_VIDEO_FOLDERS = ["arkitscenes", "scannet", "scannetpp"] as const;

/**
 * The annotation parquet files of `path`: the file itself, or in a dataset folder as the Hugging Face snapshot lays
 * it out, `test-*.parquet` (today `test-00000-of-00001.parquet`, beside `arkitscenes/`, `scannet/`, `scannetpp/`),
 * else `test.parquet`, else `data/test-*.parquet` (the layout `datasets` uses for other repos).
 */
export function vsiParquetFiles(path: string): string[] {
  if (statDataPath(path, "the VSI-Bench dataset folder or its parquet file").isFile) return [path];
  const list = (dir: string) => {
    try {
      return [...Deno.readDirSync(dir)].filter((e) => e.isFile || e.isSymlink).map((e) => e.name).sort();
    } catch {
      return [];
    }
  };
  const top = list(path);
  const shards = top.filter((n) => /^test-\d+-of-\d+\.parquet$/.test(n));
  if (shards.length) return shards.map((n) => join(path, n));
  if (top.includes("test.parquet")) return [join(path, "test.parquet")];
  const nested = list(join(path, "data")).filter((n) => /^test-.*\.parquet$/.test(n));
  if (nested.length) return nested.map((n) => join(path, "data", n));
  throw new DataFormatError(
    path,
    "(folder)",
    "the VSI-Bench dataset folder: test-00000-of-00001.parquet (or test.parquet) beside arkitscenes/, scannet/, scannetpp/",
    `no test parquet found; the folder holds ${top.length ? top.slice(0, 8).join(", ") : "no files"}`,
  );
}

/**
 * `path` is the dataset folder (Hugging Face snapshot layout, see vsiParquetFiles) or a parquet file; videos are
 * looked up at `{videoDir}/{dataset}/{scene_name}.mp4` with videoDir defaulting to that folder, and both parts must
 * stay inside it (data_root.ts).
 */
async function load(path: string, opts: LoadOptions = {}): Promise<BenchItem[]> {
  const files = vsiParquetFiles(path);
  const frames = opts.frames ?? 8;
  const root = Deno.statSync(path).isDirectory ? path : dirname(path);
  const videoDir = opts.videoDir ?? root;
  const seen = new Set<string>();
  const items: BenchItem[] = [];
  for (const file of files) {
    const rows = await readParquetRows(file, VSI_COLUMNS);
    for (const [i, row] of rows.entries()) {
      if (opts.limit !== undefined && items.length >= opts.limit) return items;
      items.push(vsiItem(parseRow(VsiRow, row, file, i), file, i, { ...opts, frames, videoDir }, seen));
    }
  }
  return items;
}

function vsiItem(
  r: VsiRow,
  path: string,
  i: number,
  opts: LoadOptions & { frames: number; videoDir: string },
  seen: Set<string>,
): BenchItem {
  const frames = opts.frames;
  const numeric = isVsiNumeric(r.question_type);
  const choices: Record<string, string> = {};
  if (numeric) {
    const gt = pythonFloat(r.ground_truth);
    if (gt === null || !Number.isFinite(gt)) {
      throw new DataFormatError(
        path,
        `row ${i}: ground_truth`,
        "a number (numeric question)",
        describe(r.ground_truth),
      );
    }
  } else {
    if (!r.options || r.options.length < 2) {
      throw new DataFormatError(
        path,
        `row ${i}: options`,
        "a list of ≥ 2 options (multiple-choice question)",
        describe(r.options),
      );
    }
    for (const [j, o] of r.options.entries()) {
      const p = parseOption(o);
      if (!p) throw new DataFormatError(path, `row ${i}: options[${j}]`, 'an option like "A. text"', describe(o));
      choices[p[0]] = p[1];
    }
    if (!(r.ground_truth.trim() in choices)) {
      throw new DataFormatError(
        path,
        `row ${i}: ground_truth`,
        `an option letter (${Object.keys(choices).join("/")})`,
        describe(r.ground_truth),
      );
    }
  }
  const id = String(r.id);
  if (seen.has(id)) throw new DataFormatError(path, `row ${i}: id`, "a unique id", `duplicate ${id}`);
  seen.add(id);
  let image: ImageSource;
  const where = `row ${i}: dataset/scene_name`;
  if (opts.framesDir) {
    const dir = insideRoot(opts.framesDir, [r.dataset, r.scene_name], path, where);
    image = { kind: "frames-dir", path: dir, frames, file: path, row: i, field: "scene_name" };
  } else {
    const video = insideRoot(opts.videoDir, [r.dataset, `${r.scene_name}.mp4`], path, where);
    try {
      Deno.statSync(video);
    } catch {
      const zip = join(opts.videoDir, `${r.dataset}.zip`);
      throw new DataFormatError(
        path,
        where,
        `a video at ${video}`,
        existsSync(zip)
          ? `not found: unzip ${zip} in ${opts.videoDir} (the snapshot ships the videos zipped)`
          : "not found (unzip arkitscenes.zip / scannet.zip / scannetpp.zip there, or pass --video-dir / --frames-dir)",
      );
    }
    image = { kind: "video", path: video, frames, file: path, row: i, field: "scene_name" };
  }
  return {
    id,
    benchmark: "vsi",
    category: r.question_type,
    images: [image],
    prompt: vsiPrompt(r),
    answerKind: numeric ? "number" : "choice",
    gold: r.ground_truth.trim(),
    choices,
    maxTokens: 16,
    meta: { dataset: r.dataset, scene_name: r.scene_name, question: r.question, options: JSON.stringify(r.options) },
  };
}

function score(item: BenchItem, output: string): ItemScore {
  const fm = vsiFuzzyMatching(output);
  if (item.answerKind === "number") {
    const gt = pythonFloat(item.gold);
    const strictV = pythonFloat(fm);
    const robustV = robustNumber(output);
    return {
      id: item.id,
      category: item.category,
      strict: meanRelativeAccuracy(strictV, gt),
      robust: meanRelativeAccuracy(robustV, gt),
      parsedStrict: strictV === null ? "" : String(strictV),
      parsedRobust: robustV === null ? "" : String(robustV),
    };
  }
  const robust = robustChoice(output, item.choices);
  return {
    id: item.id,
    category: item.category,
    strict: fm.toLowerCase() === item.gold.toLowerCase() ? 1 : 0,
    robust: robust === item.gold ? 1 : 0,
    parsedStrict: fm,
    parsedRobust: robust,
  };
}

/** lmms-eval `vsibench_aggregate_results` for one score column. */
export function vsiAggregate(scores: readonly ItemScore[], k: "strict" | "robust"): Record<string, number> {
  const per = groupMeans(scores, (s) => s.category, (s) => s[k]);
  const tasks: Record<string, number> = {};
  for (const t of [...VSI_NA_TYPES, ...VSI_MCA_TYPES]) {
    if (per.has(t) && !t.startsWith("object_rel_direction")) tasks[t] = per.get(t)!;
  }
  const dirs = VSI_MCA_TYPES.slice(0, 3).filter((t) => per.has(t)).map((t) => per.get(t)!);
  // lmms-eval pops all three; with only some present (a --limit run) we average those present.
  if (dirs.length > 0) tasks["object_rel_direction"] = mean(dirs);
  for (const t of VSI_MCA_TYPES.slice(0, 3)) if (per.has(t)) tasks[t] = per.get(t)!;
  const taskScores = Object.entries(tasks).filter(([t]) => !/_(easy|medium|hard)$/.test(t)).map(([, v]) => v);
  return { overall: mean(taskScores), ...tasks };
}

function aggregate(items: readonly BenchItem[], scores: readonly ItemScore[]) {
  return suiteScores("vsi", items.length, (k) => vsiAggregate(scores, k));
}

/** VSI-Bench (parquet + videos or extracted frames): load, lmms-eval scoring (accuracy / MRA), the 8-task mean. */
export const vsiBench: BenchmarkModule = { name: "vsi", load, score, aggregate };
