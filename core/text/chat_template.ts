/**
 * Qwen2.5-VL chat template (the Jinja template of Qwen2.5-VL-7B-Instruct's chat_template.json) in TypeScript, and
 * its tokenisation with each <|image_pad|> / <|video_pad|> expanded to one pad per merged vision token:
 *
 *   <|im_start|>system\nYou are a helpful assistant.<|im_end|>\n          (only if the first message is not system)
 *   <|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is this?<|im_end|>\n
 *   <|im_start|>assistant\n                                                   (add_generation_prompt)
 *
 * A vision block of grid (t, h, w) patches becomes t·h·w / merge² pads (Qwen2_5_VLProcessor).
 *
 * Only the template inserts control tokens. `encodeChat` builds ids piece by piece: control tokens by id, every text
 * span (template words and message text together, as HF tokenizes the rendered string between control tokens)
 * through `TextTokenizer.encode`, which never yields a special-token id. So user text such as "<|im_end|>" or
 * "<|image_pad|>" is tokenized as the characters it is (HF's split_special_tokens) and cannot forge a role boundary
 * or a vision slot. `renderChatTemplate` gives the same prompt as a string, for display only: never tokenize it.
 */
import { type ChatMessage, messageParts } from "./chat.ts";
import type { TextTokenizer } from "./tokenizer.ts";

export type { ChatMessage, ChatPart, ChatRole, EncodedImage } from "./chat.ts";

export const DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant.";

export interface ChatTemplateOptions {
  /** Append "<|im_start|>assistant\n" so the model continues as the assistant (default true). */
  addGenerationPrompt?: boolean;
  /** Prefix vision blocks with "Picture k: " / "Video k: " (Qwen's add_vision_id; default false). */
  addVisionId?: boolean;
}

/** One piece of the rendered template: a control token, text, or the pad slot of the k-th image / video. */
export type TemplatePiece =
  | { kind: "control"; token: string }
  | { kind: "text"; text: string }
  | { kind: "pad"; token: "<|image_pad|>" | "<|video_pad|>"; index: number };

/** The template as pieces, in order; text pieces are kept apart from control tokens. */
export function chatTemplatePieces(messages: ChatMessage[], opts: ChatTemplateOptions = {}): TemplatePiece[] {
  const out: TemplatePiece[] = [];
  const control = (token: string) => out.push({ kind: "control", token });
  const text = (t: string) => out.push({ kind: "text", text: t });
  let images = 0;
  let videos = 0;
  messages.forEach((m, i) => {
    if (i === 0 && m.role !== "system") {
      control("<|im_start|>");
      text(`system\n${DEFAULT_SYSTEM_PROMPT}`);
      control("<|im_end|>");
      text("\n");
    }
    control("<|im_start|>");
    text(`${m.role}\n`);
    for (const part of messageParts(m)) {
      if (part.type === "text") {
        text(part.text);
        continue;
      }
      const isImage = part.type === "image";
      const k = isImage ? images++ : videos++;
      if (opts.addVisionId) text(`${isImage ? "Picture" : "Video"} ${k + 1}: `);
      control("<|vision_start|>");
      out.push({ kind: "pad", token: isImage ? "<|image_pad|>" : "<|video_pad|>", index: k });
      control("<|vision_end|>");
    }
    control("<|im_end|>");
    text("\n");
  });
  if (opts.addGenerationPrompt ?? true) {
    control("<|im_start|>");
    text("assistant\n");
  }
  return out;
}

/** The prompt as text with one <|image_pad|> per image and one <|video_pad|> per video. Display only. */
export function renderChatTemplate(messages: ChatMessage[], opts: ChatTemplateOptions = {}): string {
  return chatTemplatePieces(messages, opts).map((p) => p.kind === "text" ? p.text : p.token).join("");
}

export interface EncodeChatOptions extends ChatTemplateOptions {
  /** Merged vision tokens of each image, in order (visionTokenCount of its grid); default 1 per image. */
  imageTokens?: number[];
  /** Merged vision tokens of each video, in order. */
  videoTokens?: number[];
}

/**
 * Token ids of the chat prompt: control tokens by id, text spans tokenized as plain text (no special tokens can
 * come from them), the k-th image's pad repeated imageTokens[k] times. Throws when the pad counts do not match
 * the messages' images and videos.
 */
export function encodeChat(tokenizer: TextTokenizer, messages: ChatMessage[], opts: EncodeChatOptions = {}): number[] {
  const pieces = chatTemplatePieces(messages, opts);
  const imageCount = pieces.filter((p) => p.kind === "pad" && p.token === "<|image_pad|>").length;
  const videoCount = pieces.filter((p) => p.kind === "pad" && p.token === "<|video_pad|>").length;
  const imageTokens = opts.imageTokens ?? new Array<number>(imageCount).fill(1);
  const videoTokens = opts.videoTokens ?? new Array<number>(videoCount).fill(1);
  if (imageTokens.length !== imageCount || videoTokens.length !== videoCount) {
    throw new Error(
      `the messages have ${imageCount} images / ${videoCount} videos but ${imageTokens.length} / ` +
        `${videoTokens.length} vision token counts were given`,
    );
  }
  const ids: number[] = [];
  let span = "";
  const flush = () => {
    if (span) { for (const id of tokenizer.encode(span)) ids.push(id); }
    span = "";
  };
  for (const p of pieces) {
    if (p.kind === "text") {
      span += p.text;
      continue;
    }
    flush();
    const id = tokenizer.tokenId(p.token);
    const n = p.kind === "pad" ? (p.token === "<|image_pad|>" ? imageTokens : videoTokens)[p.index] : 1;
    for (let i = 0; i < n; i++) ids.push(id);
  }
  flush();
  return ids;
}

/** Merged-token count of a vision grid (t, h, w) in patches. */
export function visionTokenCount(gridThw: readonly [number, number, number], mergeSize: number): number {
  return (gridThw[0] * gridThw[1] * gridThw[2]) / (mergeSize * mergeSize);
}
