/**
 * Byte-level BPE building blocks shared by the tokenizer builder and its tests: GPT-2's byte <-> unicode table and
 * Qwen2's pre-tokenizer split (the regex of Qwen2's tokenizer.json, with the inline `(?i:...)` group expanded because
 * JavaScript spells case-insensitivity differently).
 */

/** Qwen2 tokenizer.json pre-tokenizer pattern, verbatim (Oniguruma syntax, as stored in tokenizer.json). */
export const QWEN2_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const SPLIT_RE =
  /'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

/** Split text into pre-tokens the way Qwen2's Split pre-tokenizer does (behavior Isolated). */
export function preTokenize(text: string): string[] {
  return text.normalize("NFC").match(SPLIT_RE) ?? [];
}

/** GPT-2 bytes_to_unicode: each byte maps to a printable code point so BPE works on strings. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const table = new Array<string>(256);
  for (let i = 0; i < bs.length; i++) table[bs[i]] = String.fromCodePoint(cs[i]);
  return table;
}

const BYTE_TABLE = bytesToUnicode();

/** A pre-token's UTF-8 bytes as byte-level symbols (one string per byte). */
export function toByteSymbols(preToken: string): string[] {
  return [...new TextEncoder().encode(preToken)].map((b) => BYTE_TABLE[b]);
}

/** Apply BPE merges (rank = index) to one pre-token; the reference encoder that tests compare the library against. */
export function applyMerges(symbols: string[], ranks: Map<string, number>): string[] {
  const s = [...symbols];
  while (s.length > 1) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i < s.length - 1; i++) {
      const r = ranks.get(s[i] + " " + s[i + 1]);
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        best = i;
      }
    }
    if (best < 0) break;
    s.splice(best, 2, s[best] + s[best + 1]);
  }
  return s;
}
