/**
 * What every benchmark module provides, and the pieces they share: choice-letter maps and the majority-answer
 * baseline (every item answered with its category's most frequent gold answer, scored by the same code).
 */
import { mostFrequent } from "./metrics.ts";
import type { BenchItem, BenchmarkName, ItemScore, SuiteScores } from "./types.ts";

/** Options of a benchmark loader. */
export interface LoadOptions {
  /** Read at most this many rows (after validation of those rows). */
  limit?: number;
  /** VSI: frames per video (default 8). */
  frames?: number;
  /** VSI: folder holding `{dataset}/{scene_name}.mp4` (default: beside the parquet). */
  videoDir?: string;
  /** VSI: folder holding pre-extracted frames `{dataset}/{scene_name}/*.png|jpg` (used instead of videos). */
  framesDir?: string;
}

/**
 * One benchmark in its real format: load its files into items, score one model output as the public harness does
 * (and by the robust extraction), aggregate as the benchmark reports.
 *
 * @example Load BLINK's parquet files and score a constant answer
 * ```ts
 * import { blink } from "@gasp/gasp-ts";
 * const items = await blink.load("data/BLINK", { limit: 20 });
 * const scores = items.map((it) => blink.score(it, "(A)"));
 * console.log(blink.aggregate(items, scores).strict);
 * ```
 */
export interface BenchmarkModule {
  /** Which benchmark. */
  name: BenchmarkName;
  /** Reads the benchmark's files under `path` (validated row by row; a bad row is a DataFormatError naming it). */
  load(path: string, opts?: LoadOptions): Promise<BenchItem[]>;
  /** Scores one model output for `item`. */
  score(item: BenchItem, output: string): ItemScore;
  /** Overall and per-category scores as the benchmark defines them (majorityBaseline filled by the caller). */
  aggregate(items: readonly BenchItem[], scores: readonly ItemScore[]): Omit<SuiteScores, "majorityBaseline">;
}

export { LETTERS, lettersFor } from "../../core/prompts/letters.ts";

/** Outputs of the majority-answer baseline: per category, the most frequent gold answer. */
export function majorityOutputs(items: readonly BenchItem[]): Map<string, string> {
  const byCat = new Map<string, string[]>();
  for (const it of items) byCat.set(it.category, [...(byCat.get(it.category) ?? []), it.gold]);
  const best = new Map([...byCat].map(([c, golds]) => [c, mostFrequent(golds)]));
  return new Map(items.map((it) => [it.id, best.get(it.category)!]));
}

/**
 * The chance level: each metric when every item is answered uniformly at random, i.e. scored with its expected value
 * 1/(number of options). Every aggregate is a mean (of means), so aggregating the expectations gives the exact
 * expected score. Numeric items have no chance level: they score NaN, and so does every metric that includes them.
 */
export function chanceScores(mod: BenchmarkModule, items: readonly BenchItem[]): Record<string, number> {
  const expected = items.map((it): ItemScore => {
    const k = Object.keys(it.choices).length;
    const v = it.answerKind === "choice" && k > 0 ? 1 / k : NaN;
    return { id: it.id, category: it.category, strict: v, robust: v, parsedStrict: "", parsedRobust: "" };
  });
  return mod.aggregate(items, expected).strict;
}

/** Scores a benchmark given outputs by id; adds the majority-answer baseline. */
export function scoreSuite(
  mod: BenchmarkModule,
  items: readonly BenchItem[],
  outputs: ReadonlyMap<string, string>,
  suiteName: string = mod.name,
): { scores: SuiteScores; perItem: ItemScore[] } {
  const done = items.filter((it) => outputs.has(it.id));
  const perItem = done.map((it) => mod.score(it, outputs.get(it.id)!));
  const agg = mod.aggregate(done, perItem);
  const maj = majorityOutputs(done);
  const majAgg = mod.aggregate(done, done.map((it) => mod.score(it, maj.get(it.id)!)));
  return { scores: { ...agg, suite: suiteName, majorityBaseline: majAgg.strict }, perItem };
}
