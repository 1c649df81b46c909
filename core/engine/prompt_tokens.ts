/**
 * Prompt length in tokens without running the model: the chat template tokenized (core/text/chat_template.ts), each
 * image's vision pads computed from its size alone by Qwen's smart_resize (core/image/preprocess.ts). The server
 * uses it to refuse a prompt over the context (HTTP 400 context_length_exceeded) before queueing it.
 *
 * Worked example (patch 14, merge 2, max_pixels 448² = 200704): a 640 x 480 image is over budget, so both sides
 * shrink by beta = sqrt(640·480 / 200704) = 1.237 and round down to multiples of 28: 504 x 364, that is 36 x 26
 * patches = 18 x 13 merged tokens = 234 <|image_pad|> ids, plus <|vision_start|> and <|vision_end|>.
 */
import { join } from "node:path";
import { DataFormatError, ShapeMismatchError } from "../errors.ts";
import { preprocessOptions, smartResize, type VisionPreprocessOptions } from "../image/preprocess.ts";
import { parseVlmConfig } from "../model/config.ts";
import { type ChatMessage, messageParts } from "../text/chat.ts";
import { encodeChat } from "../text/chat_template.ts";
import { TextTokenizer } from "../text/tokenizer.ts";

/** Default pixel ceiling per image (448 x 448 = 256 merged vision tokens with 14 px patches and a 2x2 merge). */
export const ENGINE_MAX_PIXELS = 448 * 448;

/** Merged vision tokens of a `frames`-frame image or video of width x height under `opts`. */
export function visionTokensFor(width: number, height: number, frames: number, opts: VisionPreprocessOptions): number {
  const factor = opts.patchSize * opts.mergeSize;
  const [h, w] = smartResize(height, width, factor, opts.minPixels, opts.maxPixels);
  const t = Math.ceil(frames / opts.temporalPatchSize);
  return (t * (h / opts.patchSize) * (w / opts.patchSize)) / (opts.mergeSize * opts.mergeSize);
}

/** Prompt tokens of `messages`: what OrtVlmRunner.prepare will produce, computed from sizes only. */
export function countPromptTokens(
  tokenizer: TextTokenizer,
  vision: VisionPreprocessOptions,
  messages: ChatMessage[],
): number {
  const imageTokens: number[] = [], videoTokens: number[] = [];
  let k = 0;
  for (const m of messages) {
    for (const p of messageParts(m)) {
      if (p.type === "text") continue;
      const where = `image ${k++}`;
      try {
        if (p.type === "image") {
          if (!p.image) throw new DataFormatError(where, "image", "an image with a width and height");
          imageTokens.push(visionTokensFor(p.image.width, p.image.height, 1, vision));
        } else {
          const f0 = p.video?.frames[0];
          if (!f0) throw new DataFormatError(where, "video", "a video with at least one frame");
          videoTokens.push(visionTokensFor(f0.width, f0.height, p.video!.frames.length, vision));
        }
      } catch (e) {
        if (e instanceof ShapeMismatchError) throw new DataFormatError(where, "size", "an aspect ratio up to 200:1");
        throw e;
      }
    }
  }
  return encodeChat(tokenizer, messages, { imageTokens, videoTokens }).length;
}

/** A counter for an export dir (its config.json and tokenizer.json), with the engine's pixel budget. */
export async function loadPromptCounter(
  dir: string,
  pixels: { minPixels?: number; maxPixels?: number } = {},
): Promise<(messages: ChatMessage[]) => number> {
  const config = parseVlmConfig(JSON.parse(await Deno.readTextFile(join(dir, "config.json"))));
  const tokenizer = await TextTokenizer.fromFile(join(dir, "tokenizer.json"));
  const vision = preprocessOptions(config, {
    minPixels: pixels.minPixels,
    maxPixels: pixels.maxPixels ?? ENGINE_MAX_PIXELS,
  });
  return (messages) => countPromptTokens(tokenizer, vision, messages);
}
