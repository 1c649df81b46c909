/**
 * The processor (HF Qwen2_5_VLProcessor): chat messages → model inputs, one function for training items, the ONNX
 * runner, the server and the benchmarks alike, so every caller sees the same tokens, pixels and positions.
 *
 *   1. render the Qwen2.5-VL chat template (core/text/chat_template.ts): one <|image_pad|> / <|video_pad|> per part,
 *   2. preprocess each image / video (core/image/preprocess.ts): smart-resize, normalise, patchify → pixel_values,
 *   3. expand each pad into one pad per merged vision token (grid_t·grid_h·grid_w / merge²),
 *   4. tokenise (encodeChat: control tokens by id, all message text as plain text, so "<|im_end|>" typed by a user
 *      stays text), and compute the M-RoPE position ids (core/model/rope_index.ts).
 *
 * Worked example (TINY_CONFIG: patch 14, merge 2, a 56×56 image and the text "Hi"):
 *   grid (t, h, w) = (1, 4, 4) patches → 16 / 2² = 4 merged tokens, so the prompt reads
 *   "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|>"
 *   + "<|image_pad|>" × 4 + "<|vision_end|>Hi<|im_end|>\n<|im_start|>assistant\n",
 *   pixel_values is (16, 3·2·14·14) = (16, 1176) (the image repeated to temporal_patch_size 2), and the 4 pads take
 *   M-RoPE positions (t, h, w) = (s, s + r, s + c) for (r, c) in the 2 × 2 merged grid, s = the vision start's index + 1;
 *   text after the image continues from s + 2 (max position + 1), so ropeDelta = (s + 2) − (s + 4) = −2.
 *
 * Letters: T tokens.
 */
import type { VlmConfig } from "./config.ts";
import { getRopeIndex } from "./rope_index.ts";
import { type PixelValues, preprocessImage, preprocessOptions, preprocessVideo } from "../image/preprocess.ts";
import type { RgbImage } from "../image/types.ts";
import { DataFormatError } from "../errors.ts";
import { decodeEncodedImage } from "../image/decode.ts";
import { isEncodedImage } from "../text/chat.ts";
import { type ChatMessage, type ChatTemplateOptions, encodeChat, visionTokenCount } from "../text/chat_template.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";

export interface EncodePromptOptions extends ChatTemplateOptions {
  /** Vision pixel budget per image / video frame (defaults: Qwen's 3136 .. 12845056). */
  minPixels?: number;
  maxPixels?: number;
}

/** A prompt ready for the model: what VlmModel.forward takes (inputIds, images, videos) plus its M-RoPE ids. */
export interface EncodedPrompt {
  /** (T) token ids, each vision pad expanded to its merged-token count. */
  inputIds: Int32Array;
  /** HF pixel_values + grid of every image part, in prompt order. */
  images: PixelValues[];
  /** HF pixel_values + grid of every video part, in prompt order. */
  videos: PixelValues[];
  /** (3, T) M-RoPE position ids (t, h, w). */
  positionIds: [Int32Array, Int32Array, Int32Array];
  /** max position + 1 − T: decode step k (0-based, after the prompt) sits at position T + k + ropeDelta. */
  ropeDelta: number;
}

/** Chat messages (images as decoded RGB or encoded PNG/JPEG files, videos as RGB) → ids, pixel values, M-RoPE ids. */
export function encodePrompt(
  config: VlmConfig,
  tokenizer: TextTokenizer,
  messages: ChatMessage[],
  opts: EncodePromptOptions = {},
): EncodedPrompt {
  const popts = preprocessOptions(config, opts);
  const images: PixelValues[] = [], videos: PixelValues[] = [];
  messages.forEach((m, i) => {
    if (typeof m.content === "string") return;
    for (const p of m.content) {
      if (p.type === "image") {
        if (!p.image) throw new DataFormatError("messages", `${i}.content.image`, "RGB pixels or an encoded image");
        // encoded files (the server's, the benchmarks') are decoded one at a time: one full-size raster at once
        const rgb = isEncodedImage(p.image) ? decodeEncodedImage(p.image, `image ${images.length}`) : p.image;
        images.push(preprocessImage(rgb, popts));
      } else if (p.type === "video") {
        if (!p.video) throw new DataFormatError("messages", `${i}.content.video`, "decoded RGB video frames");
        videos.push(preprocessVideo(p.video, popts));
      }
    }
  });
  const M = config.vision_config.spatial_merge_size;
  // control tokens by id, message text as plain text: user text never becomes a control token
  const inputIds = Int32Array.from(encodeChat(tokenizer, messages, {
    ...opts,
    imageTokens: images.map((im) => visionTokenCount(im.gridThw, M)),
    videoTokens: videos.map((v) => visionTokenCount(v.gridThw, M)),
  }));
  const { positionIds, ropeDelta } = getRopeIndex(config, inputIds, images, videos);
  return { inputIds, images, videos, positionIds, ropeDelta };
}

/** One user turn: the images in order, then the text (the layout of every training item and App. C prompt). */
export function imagesThenText(images: RgbImage[], text: string): ChatMessage[] {
  return [{
    role: "user",
    content: [...images.map((image) => ({ type: "image" as const, image })), { type: "text", text }],
  }];
}

/**
 * The text of GASP's multi-frame correspondence prompts: each frame a separate image, then this line. Training items
 * (train/samples.ts) and the App. C feature extraction (core/analysis/model_features.ts) prompt frames identically.
 */
export const SCENE_FRAMES_PROMPT = "These are views of one scene from a moving camera.";
