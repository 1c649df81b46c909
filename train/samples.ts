/**
 * From data records to model inputs: token ids, per-frame images, LM targets and correspondence pairs.
 *
 * Frames enter the model as F separate images, not one video: a 224² frame is one image of grid (t, h, w) =
 * (1, 16, 16) patches = 64 merged tokens on the sequence's 8 × 8 patch grid (merged token r·8 + c is patch (r, c)).
 * As a video, Qwen's temporal_patch_size 2 would merge frames pairwise into one token set, so two frames would share
 * every visual token and per-frame correspondence would be undefined. preprocessImage duplicates each frame to
 * T = 2 (as HF does for an image), which keeps it one token set of its own.
 *
 * Prompts use the Qwen2.5-VL chat template: system, user (the images, then the question), assistant (the answer,
 * then <|im_end|>). L_LM trains on the answer tokens and the closing <|im_end|> only.
 */
import type { VlmConfig } from "../core/model/config.ts";
import type { VisionInput } from "../core/model/vlm.ts";
import { encodePrompt, imagesThenText, SCENE_FRAMES_PROMPT } from "../core/model/processing.ts";
import type { RgbImage } from "../core/image/types.ts";
import type { TextTokenizer } from "../core/text/tokenizer.ts";
import type { Rng } from "../core/random.ts";
import { DataFormatError } from "../core/errors.ts";
import type { TrainConfig } from "./config.ts";
import type { CorrespondenceSequence, Frame } from "../core/scene/types.ts";
import { type CorrespondencePair, correspondencePairs } from "./correspondence_pairs.ts";
import { IGNORE_INDEX } from "./losses.ts";
import { generalQa } from "./qa.ts";
import { drawPointMarks, fairCorrespondenceQa } from "./fair_qa.ts";

/** One forward pass worth of input. */
export interface ModelSample {
  inputIds: Int32Array;
  images: VisionInput[];
  /** (T) next-token targets (IGNORE_INDEX off the answer), or null when there is no answer (no L_LM). */
  targets: Int32Array | null;
  /** Correspondence supervision (GASP items only). */
  corr: { pairs: CorrespondencePair[]; frames: number; patches: number; patchDepth: Float32Array } | null;
}

/** A frame's pixels as the processor takes them. */
export function frameRgb(f: Frame): RgbImage {
  return { width: f.width, height: f.height, data: f.rgb };
}

/**
 * Token ids, images and LM targets of a user turn with `images` then `question` (core/model/processing.ts), and an
 * optional assistant answer: the answer is tokenised on its own after the generation prompt, and L_LM's targets are
 * its tokens and the closing <|im_end|>.
 */
export function chatSample(
  config: VlmConfig,
  tok: TextTokenizer,
  images: RgbImage[],
  question: string,
  answer: string | null,
): Omit<ModelSample, "corr"> {
  const prompt = encodePrompt(config, tok, imagesThenText(images, question));
  if (answer === null) return { inputIds: prompt.inputIds, images: prompt.images, targets: null };
  // the answer is text; only the closing <|im_end|> is a control token
  const answerIds = [...tok.encode(answer), tok.tokenId("<|im_end|>")];
  const ids = Int32Array.from([...prompt.inputIds, ...answerIds]);
  const targets = new Int32Array(ids.length).fill(IGNORE_INDEX);
  for (let t = prompt.inputIds.length - 1; t + 1 < ids.length; t++) targets[t] = ids[t + 1];
  return { inputIds: ids, images: prompt.images, targets };
}

/** Frames chosen for one training item: frame 0 (the anchor) plus k − 1 others, ascending. */
export function chooseFrames(seq: CorrespondenceSequence, k: number, rng: Rng): number[] {
  const others = [...Array(seq.frames.length).keys()].slice(1);
  rng.shuffle(others);
  return [0, ...others.slice(0, Math.max(0, k - 1)).sort((a, b) => a - b)];
}

/** The sub-sequence on `frames` (tracks whose anchor is dropped are dropped), for correspondencePairs. */
export function subSequence(seq: CorrespondenceSequence, frames: number[]): CorrespondenceSequence {
  const F = seq.frames.length, K = frames.length;
  const keep = seq.tracks.map((t, i) => ({ t, i })).filter(({ t }) => frames.includes(t.anchorFrame));
  const targetPatch = new Int32Array(keep.length * K);
  keep.forEach(({ i }, n) => frames.forEach((f, k) => (targetPatch[n * K + k] = seq.targetPatch[i * F + f])));
  const P = seq.grid.rows * seq.grid.cols;
  const patchDepth = new Float32Array(K * P);
  frames.forEach((f, k) => patchDepth.set(seq.patchDepth.subarray(f * P, (f + 1) * P), k * P));
  return {
    ...seq,
    frameIndices: frames.map((f) => seq.frameIndices[f]),
    frames: frames.map((f) => seq.frames[f]),
    tracks: keep.map(({ t }) => ({
      anchorFrame: frames.indexOf(t.anchorFrame),
      points: frames.map((f) => t.points[f]),
      visible: frames.map((f) => t.visible[f]),
      depths: frames.map((f) => t.depths[f]),
    })),
    targetPatch,
    patchDepth,
    negatives: keep.map(({ i }) => frames.map((f) => seq.negatives[i]?.[f] ?? null)),
  };
}

/** A GASP correspondence item: the chosen frames as images, a fixed prompt, pairs for Eq 5-8. */
export function correspondenceSample(
  config: VlmConfig,
  tok: TextTokenizer,
  seq: CorrespondenceSequence,
  frames: number[],
): ModelSample {
  const sub = subSequence(seq, frames);
  const patches = seq.grid.rows * seq.grid.cols;
  return {
    ...chatSample(config, tok, sub.frames.map(frameRgb), SCENE_FRAMES_PROMPT, null),
    corr: { pairs: correspondencePairs(sub), frames: frames.length, patches, patchDepth: sub.patchDepth },
  };
}

/** A general-QA item (train/qa.ts) about one frame of the sequence's scene; null if the scene has no questions. */
export function generalQaSample(
  config: VlmConfig,
  tok: TextTokenizer,
  seq: CorrespondenceSequence,
  rng: Rng,
): ModelSample | null {
  if (!seq.scene) return null;
  const f = rng.int(seq.frames.length);
  const frame: Frame = seq.frames[f];
  const [rec] = generalQa(seq.scene, { frame, frameIndex: f, rng, max: 1 });
  if (!rec) return null;
  const question = rec.conversations[0].value.replace(/^<image>\n?/, "");
  return { ...chatSample(config, tok, [frameRgb(frame)], question, rec.conversations[1].value), corr: null };
}

/** An sft-fair item: one correspondence question posed as text VQA on two marked frames (train/fair_qa.ts). */
export function fairQaSample(
  config: VlmConfig,
  tok: TextTokenizer,
  seq: CorrespondenceSequence,
  rng: Rng,
): ModelSample | null {
  const [rec] = fairCorrespondenceQa(seq, { rng, maxTracks: 1 });
  if (!rec) return null;
  const images = rec.images.map((fi, k) => {
    const f = seq.frames[fi];
    const marks = rec.marks.filter((m) => m.image === k);
    return { width: f.width, height: f.height, data: drawPointMarks(f.rgb, f.width, f.height, marks) };
  });
  const question = rec.conversations[0].value.replace(/<image>\n?/g, "");
  return { ...chatSample(config, tok, images, question, rec.conversations[1].value), corr: null };
}

/**
 * Draws training items from `sequences` with `rng`: general QA ("qa", and every item when the preset has no
 * correspondence data), or the preset's correspondence item (GASP: framesPerItem frames and their pairs; sft-fair:
 * one correspondence question as text VQA). A sequence that yields nothing (no QA, no visible pair) is redrawn.
 */
export function itemSampler(
  config: TrainConfig,
  modelConfig: VlmConfig,
  tok: TextTokenizer,
  sequences: CorrespondenceSequence[],
  rng: Rng,
): (kind: "qa" | "corr") => ModelSample {
  const corr = config.data.correspondence;
  return (kind) => {
    for (let tries = 0; tries < 100; tries++) {
      const seq = sequences[rng.int(sequences.length)];
      let s: ModelSample | null = null;
      if (kind === "qa" || corr === "none") s = generalQaSample(modelConfig, tok, seq, rng);
      else if (corr === "text-vqa") s = fairQaSample(modelConfig, tok, seq, rng);
      else {
        s = correspondenceSample(modelConfig, tok, seq, chooseFrames(seq, config.data.framesPerItem, rng));
        if (s.corr!.pairs.length === 0) s = null;
      }
      if (s) return s;
    }
    throw new DataFormatError("training data", kind, "sequences that yield items (scenes with QA, visible tracks)");
  };
}
