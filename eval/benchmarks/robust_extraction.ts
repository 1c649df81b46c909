/**
 * Robust answer extraction for messy model outputs ("The answer is (B).", "B) left", "3.5 meters", "about three").
 * Reported beside the strict harness numbers; the strict ones stay primary so scores compare with papers.
 *
 * Choice order of preference: an explicit "answer is/answer: X" statement, a letter at the start ("B) left",
 * "(C)", "b."), a single bracketed letter anywhere, VLMEvalKit's standalone-letter rule, then exactly one option text
 * mentioned (whole words). Numbers: the first number (decimal comma and thousands separators handled) or a number
 * word, unit words ignored.
 */
import { canInferOption } from "./harness_extraction.ts";
import type { BenchItem, ItemScore } from "./types.ts";

export function robustChoice(output: string, choices: Record<string, string>): string {
  const letters = Object.keys(choices);
  const isLetter = (s: string | undefined) => s !== undefined && letters.includes(s.toUpperCase());
  const text = output.trim();
  const stated = /\b(?:answer|option|choice)\s*(?:is|would be|:)?\s*:?\s*\(?([A-Za-z])\)?(?![A-Za-z])/i.exec(text);
  if (stated && isLetter(stated[1])) return stated[1].toUpperCase();
  const leading = /^[\s*#"'`(\[]*([A-Za-z])(?:[).\]:,\s*]|$)/.exec(text);
  if (leading && isLetter(leading[1]) && !/^(?:a|A|I)\s+[a-z]/.test(text)) return leading[1].toUpperCase();
  const bracketed = [...text.matchAll(/\(([A-Z])\)/g)].map((m) => m[1]).filter((l) => isLetter(l));
  if (new Set(bracketed).size === 1) return bracketed[0];
  const opt = canInferOption(text, choices);
  // VLMEvalKit's (verbose-only) guard: a lone "A" in a longer sentence is probably the article.
  const words = text.split(/[\s.()[\],:;!*#{}]+/).filter((w) => w);
  const article = opt === "A" && words.length > 3;
  if (opt && opt !== "Z" && !article) return opt;
  const low = text.toLowerCase();
  const byText = Object.entries(choices).filter(([, t]) => {
    const w = t.trim().toLowerCase();
    return w.length > 0 && new RegExp(`(^|[^a-z0-9])${escapeRegExp(w)}($|[^a-z0-9])`).test(low);
  });
  // Prefer the longest option text when one option's text contains another's ("front-left" vs "left").
  if (byText.length >= 1) {
    const sorted = byText.sort((a, b) => b[1].length - a[1].length);
    const top = sorted[0][1].toLowerCase();
    const rest = sorted.slice(1).filter(([, t]) => !top.includes(t.toLowerCase()));
    if (rest.length === 0) return sorted[0][0];
  }
  return "";
}

const NUMBER_WORDS: Record<string, number> = {
  zero: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
  twenty: 20,
};

export function robustNumber(output: string): number | null {
  const text = output.replace(/\u2212/g, "-");
  const m = /-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:[.,]\d+)?(?:[eE][+-]?\d+)?|-?\.\d+/.exec(text);
  if (m) {
    let s = m[0];
    if (/^-?\d{1,3}(?:,\d{3})+/.test(s)) s = s.replaceAll(",", "");
    else s = s.replace(",", ".");
    const v = Number(s);
    if (Number.isFinite(v)) return v;
  }
  const w =
    /\b(zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty)\b/i
      .exec(text);
  return w ? NUMBER_WORDS[w[1].toLowerCase()] : null;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Score a multiple-choice item: `strict` is the benchmark's own harness extraction (primary), the robust
 * extraction is reported beside it.
 */
export function scoreChoice(
  item: BenchItem,
  output: string,
  strictExtract: (output: string, choices: Record<string, string>) => string,
): ItemScore {
  const strict = strictExtract(output, item.choices);
  const robust = robustChoice(output, item.choices);
  return {
    id: item.id,
    category: item.category,
    strict: strict === item.gold ? 1 : 0,
    robust: robust === item.gold ? 1 : 0,
    parsedStrict: strict,
    parsedRobust: robust,
  };
}
