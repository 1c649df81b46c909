/**
 * BLINK's and CV-Bench's prompt wordings and answer format as lmms-eval builds them (`tasks/blink/utils.py`,
 * `tasks/cv_bench/utils.py` + `_default_template_yaml`, read 2026-11-26; benchmark-formats.md §3-4 [V]):
 *   BLINK:    pre + doc["prompt"]             (no separator),
 *   CV-Bench: pre + "\n" + doc["prompt"]      (so a blank line precedes the prompt),
 * pre = "Note: You only need to respond with {A, B, …} without providing any additional information.\n". The rows'
 * own `prompt` ends in the options: BLINK "… Select from the following options.\n(A) x\n(B) y", CV-Bench "…
 * Select from the following choices.\n(A) x\n(B) y". Gold answers are "(A)"-style; extraction takes a leading
 * letter, so "(B)" (the data's own form) is the answer format.
 */
import { LETTERS } from "./letters.ts";

export const LMMS_MC_PRE_PROMPT =
  "Note: You only need to respond with {} without providing any additional information.\n";

/** The BLINK rows' closing sentence before their options. */
export const BLINK_OPTIONS_LINE = "Select from the following options.";
/** The CV-Bench rows' closing sentence before their choices. */
export const CV_BENCH_CHOICES_LINE = "Select from the following choices.";

export function lmmsMcPrePrompt(numChoices: number): string {
  return LMMS_MC_PRE_PROMPT.replace("{}", [...LETTERS.slice(0, Math.min(numChoices, 5))].join(", "));
}

/** BLINK: the pre-prompt glued to the row's prompt. */
export function blinkPrompt(choices: readonly string[], prompt: string): string {
  return lmmsMcPrePrompt(choices.length) + prompt;
}

/** CV-Bench: the pre-prompt, a newline, then the row's prompt. */
export function cvBenchPrompt(choices: readonly string[], prompt: string): string {
  return lmmsMcPrePrompt(choices.length) + "\n" + prompt;
}

/** A row's `prompt` field: the question, the closing line, then "(A) x\n(B) y". */
export function lmmsRowPrompt(question: string, closing: string, choices: readonly string[]): string {
  return `${question} ${closing}\n${choices.map((c, i) => `(${LETTERS[i]}) ${c}`).join("\n")}`;
}

/** The answer format of BLINK / CV-Bench gold answers: "(B)". */
export function parenthesizedLetter(index: number): string {
  return `(${LETTERS[index]})`;
}
