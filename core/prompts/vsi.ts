/**
 * VSI-Bench's prompt wordings and answer formats (lmms-eval `tasks/vsibench/utils.py` `vsibench_doc_to_text`, read
 * 2026-11-26; benchmark-formats.md §2 [V]): the benchmark harness (eval/benchmarks/vsi_bench.ts) and the general
 * instruction data (core/instruct) build prompts with these functions, so a model trained on the data has seen the
 * exact text it is tested with.
 *   multiple choice: "\n".join([pre, question, "Options:\n" + "\n".join(options), post]), options "A. text",
 *                    answered by the bare letter (lmms-eval compares the first token, case-insensitively);
 *   numeric:         pre + "\n" + question + "\n" + post, answered by the number alone (`to_float` of the first token).
 */
import { LETTERS } from "./letters.ts";

/** lmms-eval's fallback pre_prompt (the yaml default is empty, so this text is used). */
export const VSI_PRE_PROMPT = "These are frames of a video.";
export const VSI_MCA_POST = "Answer with the option's letter from the given choices directly.";
export const VSI_NA_POST = "Please answer the question using a single word or phrase.";

/** VSI's option strings: ["front-left", "back-right"] → ["A. front-left", "B. back-right"]. */
export function vsiOptions(texts: readonly string[]): string[] {
  return texts.map((t, i) => `${LETTERS[i]}. ${t}`);
}

/** A multiple-choice prompt; `options` already lettered ("A. text", as the parquet stores them). */
export function vsiMultipleChoicePrompt(question: string, options: readonly string[]): string {
  return [VSI_PRE_PROMPT, question, "Options:\n" + options.join("\n"), VSI_MCA_POST].join("\n");
}

/** A numeric-answer prompt. */
export function vsiNumericPrompt(question: string): string {
  return VSI_PRE_PROMPT + "\n" + question + "\n" + VSI_NA_POST;
}
