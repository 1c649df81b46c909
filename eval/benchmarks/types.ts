/**
 * Shared shapes of the benchmark suites: one item (a question with its images and gold answer), the engine seam
 * the runner drives, and per-item scores. The engine is core/engine/types.ts `InferenceEngine` (only `generate` is
 * needed); an engine may add `generateBatch` for batched decoding.
 */
import type { GenerationRequest, GenerationResult, InferenceEngine } from "../../core/engine/types.ts";

export type { GenerationRequest, GenerationResult };

/** What the runner needs from an inference engine. `generateBatch`, when present, is used for batched decoding. */
export type BenchEngine = Pick<InferenceEngine, "generate"> & {
  generateBatch?(reqs: GenerationRequest[], signal?: AbortSignal): Promise<GenerationResult[]>;
};

export type BenchmarkName = "all-angles" | "vsi" | "blink" | "cv-bench";

/** Where an item's images come from; resolved lazily (visuals.ts) so that loading a benchmark stays cheap. */
export type ImageSource =
  /** Image bytes embedded in the data file (BLINK/CV-Bench parquet `{bytes, path}` structs). */
  | { kind: "bytes"; bytes: Uint8Array; mime: string; file: string; row: number; field: string }
  /** An image file on disk (All-Angles `image_path` entries, CV-Bench `filename`, pre-extracted frames). */
  | { kind: "file"; path: string; file: string; row: number; field: string }
  /** A video decoded to `frames` evenly spaced frames with the system ffmpeg (VSI-Bench). */
  | { kind: "video"; path: string; frames: number; file: string; row: number; field: string }
  /** A folder of pre-extracted frames (sorted by name, `frames` evenly spaced picked). */
  | { kind: "frames-dir"; path: string; frames: number; file: string; row: number; field: string };

export interface BenchImage {
  bytes: Uint8Array;
  mime: "image/png" | "image/jpeg";
  width: number;
  height: number;
}

/** One benchmark question, prompt already built exactly as the public harness builds it. */
export interface BenchItem {
  /** Unique within its benchmark file; the resume key. */
  id: string;
  benchmark: BenchmarkName;
  /** The group the benchmark reports by (All-Angles `category`, VSI `question_type`, BLINK `sub_task`, CV-Bench `task`). */
  category: string;
  images: ImageSource[];
  /** The text block sent after the images. */
  prompt: string;
  answerKind: "choice" | "number";
  /** Letter ("A") for choice items, the numeric ground truth as a string for number items. */
  gold: string;
  /** Option letter → option text, for choice items. */
  choices: Record<string, string>;
  maxTokens: number;
  /** Extra fields some aggregations need (CV-Bench `source`/`type`, VSI `dataset`, …). */
  meta: Record<string, string>;
}

/** Score of one prediction under the strict (harness) and the robust extraction. */
export interface ItemScore {
  id: string;
  category: string;
  strict: number;
  robust: number;
  parsedStrict: string;
  parsedRobust: string;
}

/** A benchmark's scores: named metrics (0–1), each under strict and robust extraction. */
export interface SuiteScores {
  suite: string;
  n: number;
  /** Metric name → value. Keys in report order; "overall" (and "official" for CV-Bench) first. */
  strict: Record<string, number>;
  robust: Record<string, number>;
  /** The same metrics when every answer is the per-category most frequent gold answer. */
  majorityBaseline: Record<string, number>;
  /** Which extraction the headline numbers use. */
  primary: "strict" | "robust";
}
