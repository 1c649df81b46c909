/**
 * The inference-engine seam shared by the HTTP server (serve/) and the benchmark runner (eval/).
 *
 * An engine turns a chat (text and decoded-image-ready bytes) into generated text, one request at a time.
 * It never sees HTTP: limits, auth and queueing live above it (serve/ and core/engine/queue.ts).
 * Implementations: `StandInEngine` (core/engine/stand_in.ts, deterministic, for tests and load tests) and the real
 * head-free model over onnxruntime-web (wired in core/engine/load.ts).
 */

/** A text part of a chat message. */
export interface TextPart {
  type: "text";
  text: string;
}

/** An image part: the raw encoded file bytes (PNG or JPEG, already format- and size-checked by the caller). */
export interface ImagePart {
  type: "image";
  bytes: Uint8Array;
  mime: "image/png" | "image/jpeg";
  /** Dimensions read from the file header by the caller (no decode needed to know them). */
  width: number;
  height: number;
}

export type ContentPart = TextPart | ImagePart;

export type ChatRole = "system" | "user" | "assistant";

export interface ChatMessage {
  role: ChatRole;
  content: ContentPart[];
}

export interface GenerationRequest {
  messages: ChatMessage[];
  /** Upper bound on generated tokens; generation ends with finishReason "length" when reached. */
  maxTokens: number;
  /** 0 means greedy decoding. */
  temperature: number;
  /** Nucleus sampling mass in (0, 1]; 1 disables it. */
  topP: number;
  /** Seed for sampling (core/random.ts Rng); the same request and seed give the same text. */
  seed: number;
  /** Generation stops before any of these strings would be emitted; they are not part of the text. */
  stop: string[];
}

export type FinishReason = "stop" | "length" | "cancelled";

export interface GenerationResult {
  text: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: FinishReason;
  timingMs: number;
}

export interface InferenceEngine {
  /** Short stable identifier of the implementation, e.g. "stand-in" or "ort-webgpu". */
  readonly id: string;
  /** The model name served under /v1/models and expected in chat requests' `model` field. */
  readonly modelName: string;
  /** True once weights are loaded and generate() may be called. */
  ready(): boolean;
  /**
   * Generates a reply to `req.messages`. `onToken` receives each piece of text as it is produced (their
   * concatenation equals `result.text`). When `signal` aborts, the engine stops at the next token and resolves
   * with finishReason "cancelled" (it does not reject).
   */
  generate(
    req: GenerationRequest,
    onToken?: (text: string) => void,
    signal?: AbortSignal,
  ): Promise<GenerationResult>;
}
