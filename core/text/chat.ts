/**
 * The one chat-message type of the project: the server builds it from HTTP bodies, the benchmark runner from dataset
 * rows, training from samples; the inference engines and the ONNX runner consume it, and the chat template
 * (core/text/chat_template.ts) turns it into token ids.
 *
 * An image part carries either the encoded file (PNG/JPEG bytes with the size its header states; decoded by the
 * engine, off the server's event loop) or decoded RGB pixels. A part without an image only marks where vision pads
 * go (the template alone needs no pixels).
 */
import type { RgbImage, RgbVideo } from "../image/types.ts";

/** The encoded image formats accepted. */
export type ImageMime = "image/png" | "image/jpeg";

/** An encoded image file, already format-checked; `width` and `height` come from its header. */
export interface EncodedImage {
  /** The file's bytes. */
  bytes: Uint8Array;
  /** Its format, from its signature. */
  mime: ImageMime;
  /** Width in pixels, from its header. */
  width: number;
  /** Height in pixels, from its header. */
  height: number;
}

/** A text, image or video part of a message. */
export type ChatPart =
  | { type: "text"; text: string }
  | { type: "image"; image?: RgbImage | EncodedImage }
  | { type: "video"; video?: RgbVideo };

/** Who speaks in a chat turn. */
export type ChatRole = "system" | "user" | "assistant";

/** One turn of a chat: who speaks, and what (text, or parts of text, images and videos). */
export interface ChatMessage {
  /** The speaker. */
  role: ChatRole;
  /** A string, or parts in order. */
  content: string | ChatPart[];
}

/** True when `image` is still an encoded file (bytes), false when it holds decoded RGB pixels. */
export function isEncodedImage(image: RgbImage | EncodedImage): image is EncodedImage {
  return "bytes" in image;
}

/** The parts of a message (a string content is one text part). */
export function messageParts(m: ChatMessage): ChatPart[] {
  return typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content;
}
