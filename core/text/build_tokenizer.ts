/**
 * Builds the tiny model's tokenizer.json: byte-level BPE trained on a generated corpus of our QA vocabulary
 * (objects, colours, numbers, directions, chat words), in the exact tokenizer.json layout of Qwen2 (NFC normalizer,
 * Split + ByteLevel pre-tokenizer, ByteLevel decoder, BPE model) with Qwen's special tokens appended after the
 * trained vocabulary. Deterministic: same seed, same file, byte for byte.
 */
import { Rng } from "../random.ts";
import { TINY_BPE_SIZE, TINY_SPECIAL_TOKENS } from "../model/config.ts";
import { bytesToUnicode, preTokenize, QWEN2_SPLIT_PATTERN, toByteSymbols } from "./byte_level.ts";

const OBJECTS = [
  "chair",
  "table",
  "sofa",
  "lamp",
  "cube",
  "sphere",
  "cylinder",
  "cone",
  "box",
  "bed",
  "plant",
  "door",
  "window",
  "cup",
  "bottle",
  "book",
  "shelf",
  "desk",
  "monitor",
  "keyboard",
  "ball",
  "vase",
  "clock",
  "rug",
  "mirror",
  "car",
  "tree",
  "person",
  "wall",
  "floor",
  "ceiling",
  "camera",
  "object",
  "objects",
  "room",
  "kitchen",
  "bowl",
  "pillow",
];
const COLOURS = [
  "red",
  "green",
  "blue",
  "yellow",
  "orange",
  "purple",
  "white",
  "black",
  "gray",
  "brown",
  "pink",
  "cyan",
];
const NUMBERS = [
  "zero",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
  "ten",
  "eleven",
  "twelve",
  "0",
  "1",
  "2",
  "3",
  "4",
  "5",
  "6",
  "7",
  "8",
  "9",
  "10",
  "0.5",
  "1.5",
  "2.5",
];
const DIRECTIONS = [
  "left",
  "right",
  "above",
  "below",
  "in front of",
  "behind",
  "near",
  "far",
  "closer",
  "farther",
  "next to",
  "between",
  "on top of",
  "under",
  "north",
  "south",
  "east",
  "west",
  "clockwise",
  "counterclockwise",
  "forward",
  "backward",
  "up",
  "down",
  "center",
  "corner",
];
const CHAT = [
  "What",
  "Which",
  "How",
  "many",
  "is",
  "are",
  "the",
  "a",
  "an",
  "of",
  "to",
  "in",
  "on",
  "there",
  "Yes",
  "No",
  "answer",
  "question",
  "image",
  "video",
  "frame",
  "first",
  "second",
  "last",
  "distance",
  "meters",
  "metres",
  "Answer",
  "with",
  "word",
  "single",
  "option",
  "A",
  "B",
  "C",
  "D",
  "I",
  "see",
  "you",
  "can",
  "it",
  "this",
  "that",
  "from",
  "view",
  "viewpoint",
  "same",
  "different",
  "size",
  "largest",
  "smallest",
  "count",
  "color",
  "colour",
  "helpful",
  "assistant",
  "system",
  "user",
  "Please",
  "look",
  "at",
  "and",
  "or",
  "does",
  "do",
  "appear",
  "moved",
];

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

/** A deterministic corpus of question/answer sentences over the QA vocabulary. */
export function tinyCorpus(seed = 0, sentences = 3000): string {
  const rng = new Rng(seed);
  const lines: string[] = [];
  for (let i = 0; i < sentences; i++) {
    const o1 = pick(rng, OBJECTS), o2 = pick(rng, OBJECTS), c = pick(rng, COLOURS);
    const n = pick(rng, NUMBERS), d = pick(rng, DIRECTIONS), w = pick(rng, CHAT);
    switch (rng.int(9)) {
      case 8:
        lines.push(`system\nYou are a helpful assistant.\nuser\n${w} ${o1}?\nassistant\n${c} ${n}`);
        break;
      case 0:
        lines.push(`How many ${c} ${o1}s are there in the image? ${n}`);
        break;
      case 1:
        lines.push(`Is the ${o1} ${d} the ${o2}? ${rng.next() < 0.5 ? "Yes" : "No"}.`);
        break;
      case 2:
        lines.push(`What colour is the ${o1} ${d} the ${c} ${o2}? It is ${pick(rng, COLOURS)}.`);
        break;
      case 3:
        lines.push(`What is the distance between the ${o1} and the ${o2} in meters? About ${n} meters.`);
        break;
      case 4:
        lines.push(`Which object is ${d} the ${o2} in the ${pick(rng, ["first", "second", "last"])} frame? The ${o1}.`);
        break;
      case 5:
        lines.push(`Answer with a single word or option (A, B, C, D). ${w} ${o1}, ${c}, ${d}: ${pick(rng, CHAT)}`);
        break;
      case 6:
        lines.push(`You are a helpful assistant. ${w} ${d} ${o1}\n${c} ${o2} ${n}`);
        break;
      default:
        lines.push(`The camera moved ${d}; the ${c} ${o1} appears ${pick(rng, DIRECTIONS)} the ${o2}.`);
    }
  }
  return lines.join("\n");
}

export interface TrainedBpe {
  vocab: Map<string, number>;
  merges: [string, string][];
}

/**
 * Train byte-level BPE: start from the 256 byte symbols (ids 0..255 in byte order) and repeatedly merge the most
 * frequent adjacent pair (ties: the lexicographically smallest pair) until the vocabulary has `vocabSize` tokens.
 */
export function trainByteLevelBpe(corpus: string, vocabSize: number): TrainedBpe {
  const table = bytesToUnicode();
  const vocab = new Map<string, number>();
  table.forEach((ch, i) => vocab.set(ch, i));
  const wordCounts = new Map<string, number>();
  for (const line of corpus.split(/(?<=\n)/)) {
    for (const p of preTokenize(line)) wordCounts.set(p, (wordCounts.get(p) ?? 0) + 1);
  }
  const words = [...wordCounts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([w, c]) => ({
    syms: toByteSymbols(w),
    count: c,
  }));
  const merges: [string, string][] = [];
  while (vocab.size < vocabSize) {
    const pairCounts = new Map<string, number>();
    for (const { syms, count } of words) {
      for (let i = 0; i < syms.length - 1; i++) {
        const k = syms[i] + " " + syms[i + 1];
        pairCounts.set(k, (pairCounts.get(k) ?? 0) + count);
      }
    }
    let best = "";
    let bestCount = 0;
    for (const [k, c] of pairCounts) {
      if (c > bestCount || (c === bestCount && k < best)) {
        best = k;
        bestCount = c;
      }
    }
    if (bestCount < 2) {
      throw new Error(
        `BPE training ran out of pairs at ${vocab.size} tokens (wanted ${vocabSize}); enlarge the corpus`,
      );
    }
    const [a, b] = best.split(" ");
    const merged = a + b;
    merges.push([a, b]);
    if (!vocab.has(merged)) vocab.set(merged, vocab.size);
    for (const w of words) {
      const s = w.syms;
      for (let i = 0; i < s.length - 1; i++) {
        if (s[i] === a && s[i + 1] === b) s.splice(i, 2, merged);
      }
    }
  }
  return { vocab, merges };
}

/** The tiny model's tokenizer.json text (Qwen2 layout; specials at ids TINY_BPE_SIZE...). */
export function buildTinyTokenizerJson(seed = 0): string {
  const { vocab, merges } = trainByteLevelBpe(tinyCorpus(seed), TINY_BPE_SIZE);
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false };
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: TINY_SPECIAL_TOKENS.map((content, i) => ({
      id: TINY_BPE_SIZE + i,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: "NFC" },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: QWEN2_SPLIT_PATTERN }, behavior: "Isolated", invert: false },
        byteLevel,
      ],
    },
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges,
    },
  };
  return JSON.stringify(json, null, 1) + "\n";
}
