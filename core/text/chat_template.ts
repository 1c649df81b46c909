/**
 * Qwen2.5-VL chat template, rendered in TypeScript (the Jinja template of Qwen2.5-VL-7B-Instruct's
 * tokenizer_config/chat_template.json), and the processor step that expands each <|image_pad|> / <|video_pad|>
 * into one pad per merged vision token:
 *
 *   <|im_start|>system\nYou are a helpful assistant.<|im_end|>\n          (only if the first message is not system)
 *   <|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is this?<|im_end|>\n
 *   <|im_start|>assistant\n                                                   (add_generation_prompt)
 *
 * A vision block of grid (t, h, w) patches becomes t·h·w / merge² pads (Qwen2_5_VLProcessor).
 */
import type { RgbImage, RgbVideo } from "../image/types.ts";

export const DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant.";

export type ChatPart =
  | { type: "text"; text: string }
  | { type: "image"; image?: RgbImage }
  | { type: "video"; video?: RgbVideo };

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string | ChatPart[];
}

export interface ChatTemplateOptions {
  /** Append "<|im_start|>assistant\n" so the model continues as the assistant (default true). */
  addGenerationPrompt?: boolean;
  /** Prefix vision blocks with "Picture k: " / "Video k: " (Qwen's add_vision_id; default false). */
  addVisionId?: boolean;
}

/** The prompt text with one <|image_pad|> per image and one <|video_pad|> per video (before expansion). */
export function renderChatTemplate(messages: ChatMessage[], opts: ChatTemplateOptions = {}): string {
  let out = "";
  let images = 0;
  let videos = 0;
  messages.forEach((m, i) => {
    if (i === 0 && m.role !== "system") out += `<|im_start|>system\n${DEFAULT_SYSTEM_PROMPT}<|im_end|>\n`;
    out += `<|im_start|>${m.role}\n`;
    if (typeof m.content === "string") {
      out += m.content;
    } else {
      for (const part of m.content) {
        if (part.type === "image") {
          images++;
          out += `${opts.addVisionId ? `Picture ${images}: ` : ""}<|vision_start|><|image_pad|><|vision_end|>`;
        } else if (part.type === "video") {
          videos++;
          out += `${opts.addVisionId ? `Video ${videos}: ` : ""}<|vision_start|><|video_pad|><|vision_end|>`;
        } else {
          out += part.text;
        }
      }
    }
    out += "<|im_end|>\n";
  });
  if (opts.addGenerationPrompt ?? true) out += "<|im_start|>assistant\n";
  return out;
}

/**
 * Replace the k-th <|image_pad|> with imageTokens[k] copies (and likewise for videos), as Qwen2_5_VLProcessor does
 * with grid_thw.prod() // merge_size².
 */
export function expandVisionPads(text: string, imageTokens: number[], videoTokens: number[]): string {
  let img = 0;
  let vid = 0;
  const out = text.replace(/<\|image_pad\|>|<\|video_pad\|>/g, (m) => {
    if (m === "<|image_pad|>") {
      if (img >= imageTokens.length) throw new Error(`prompt has more images than the ${imageTokens.length} given`);
      return m.repeat(imageTokens[img++]);
    }
    if (vid >= videoTokens.length) throw new Error(`prompt has more videos than the ${videoTokens.length} given`);
    return m.repeat(videoTokens[vid++]);
  });
  if (img !== imageTokens.length || vid !== videoTokens.length) {
    throw new Error(`prompt has ${img} images / ${vid} videos but ${imageTokens.length} / ${videoTokens.length} given`);
  }
  return out;
}

/** Merged-token count of a vision grid (t, h, w) in patches. */
export function visionTokenCount(gridThw: readonly [number, number, number], mergeSize: number): number {
  return (gridThw[0] * gridThw[1] * gridThw[2]) / (mergeSize * mergeSize);
}
