/**
 * Answer extraction exactly as the public harnesses do it (the "strict" numbers).
 *
 * Sources (read in the public code with the `search` tool, 2026-11-26):
 * - VLMEvalKit `vlmeval/utils/matching_util.py` (`can_infer_option`, `can_infer_text`, `can_infer`): the All-Angles
 *   authors' VLMEvalKit fork scores with `mcq_vanilla_eval` + `exact_matching`, i.e. `can_infer`. Upstream has changed
 *   over time: the article-"A" guard is gated on the `VERBOSE` env var (off by default, so inactive here), the newest
 *   upstream adds `splits.index(ch) < len(splits) - 5` and a length guard in `can_infer_text`; several forks and
 *   copies seen (lmms-eval's WeMath port, VLMEvalKit copies of 2024–25) have neither. We port that common version:
 *   verbose guard off, no index rule, no length guard. `VlmEvalKitVariant` selects the newest-upstream rules.
 * - lmms-eval `tasks/vsibench/utils.py`: `fuzzy_matching(pred) = pred.split(" ")[0].rstrip(".").strip()`,
 *   `exact_match` case-insensitive, `to_float` = Python `float()` or None.
 * - lmms-eval `tasks/blink/utils.py` and `tasks/cv_bench/utils.py` `_extract_answer_letter`:
 *   `re.match(r"[\(\s]*([A-Z])[\)\.\s]*", text.strip(), re.IGNORECASE)` → group(1).upper(), else "".
 */

const REFUSALS = [
  "Sorry, I can't help with images of people yet.",
  "I can't process this file.",
  "I'm sorry, but without the image provided",
  "Cannot determine the answer",
];

export interface VlmEvalKitVariant {
  /** Newest upstream: a found letter only counts if `splits.index(ch) < len(splits) - 5`. */
  indexRule?: boolean;
  /** Newest upstream: `can_infer_text` gives up when the answer is > 2× the total option text length. */
  lengthGuard?: boolean;
}

/** VLMEvalKit `can_infer_option`: the single choice letter standing alone as a token, "Z" on refusal, else false. */
export function canInferOption(
  answer: string,
  choices: Record<string, string>,
  v: VlmEvalKitVariant = {},
): string | false {
  if (answer.includes("Failed to obtain answer via API")) return false;
  for (const r of REFUSALS) if (answer.includes(r)) return "Z";
  let mod = answer;
  for (const c of ".()[],:;!*#{}") mod = mod.replaceAll(c, " ");
  const splits = pySplit(mod);
  const letters = Object.keys(choices);
  const count = letters.filter((c) => splits.includes(c)).length;
  if (count === 1) {
    for (const ch of letters) {
      if (splits.includes(ch) && (!v.indexRule || splits.indexOf(ch) < splits.length - 5)) return ch;
    }
  } else if (count === 0 && (splits.includes("Z") ? 1 : 0) + (splits.includes("") ? 1 : 0) === 1) {
    return "Z";
  }
  return false;
}

/** VLMEvalKit `can_infer_text`: exactly one option text occurs (lower-cased substring) in the answer. */
export function canInferText(
  answer: string,
  choices: Record<string, string>,
  v: VlmEvalKitVariant = {},
): string | false {
  const low = answer.toLowerCase();
  const entries = Object.entries(choices);
  if (v.lengthGuard && low.length > 2 * entries.reduce((s, [, t]) => s + t.length, 0)) return false;
  const cands = entries.filter(([, t]) => low.includes(t.toLowerCase())).map(([k]) => k);
  return cands.length === 1 ? cands[0] : false;
}

/** VLMEvalKit `can_infer`: option letter first, then option text. */
export function canInfer(answer: string, choices: Record<string, string>, v: VlmEvalKitVariant = {}): string | false {
  return canInferOption(answer, choices, v) || canInferText(answer, choices, v);
}

/** lmms-eval VSI-Bench `fuzzy_matching`: first space-separated token, trailing dots removed, then stripped. */
export function vsiFuzzyMatching(pred: string): string {
  return pyStrip(pred.split(" ")[0].replace(/\.+$/, ""));
}

/** Python `float(s)` semantics (surrounding whitespace, `_` digit separators, inf/nan); null where Python raises. */
export function pythonFloat(s: string): number | null {
  const t = pyStrip(s);
  const num = /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;
  if (num.test(t)) return Number(t.replaceAll("_", ""));
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(t);
  if (special) {
    if (special[2].toLowerCase() === "nan") return NaN;
    return special[1] === "-" ? -Infinity : Infinity;
  }
  return null;
}

/** lmms-eval BLINK / CV-Bench `_extract_answer_letter`: a letter at the very start, e.g. "B", "(B)", "b.", else "". */
export function lmmsLeadingLetter(text: string): string {
  const m = /^[(\s]*([A-Z])/i.exec(pyStrip(text));
  return m ? m[1].toUpperCase() : "";
}

/** Python `str.split()` with no argument: split on runs of whitespace, drop empty strings. */
function pySplit(s: string): string[] {
  return s.split(/\s+/).filter((x) => x.length > 0);
}

/** Python `str.strip()` with no argument. */
export function pyStrip(s: string): string {
  return s.replace(/^\s+|\s+$/g, "");
}
