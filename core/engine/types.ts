/**
 * The inference-engine seam shared by the HTTP server (serve/) and the benchmark runner (eval/).
 *
 * An engine turns a chat (core/text/chat.ts `ChatMessage`: text, encoded or decoded images) into generated text, one
 * request at a time. It never sees HTTP: limits, auth and queueing live above it (serve/ and core/engine/queue.ts).
 * Implementations: `StandInEngine` (core/engine/stand_in.ts, deterministic, for tests and load tests), `OrtEngine`
 * (the head-free model over onnxruntime-web, core/engine/ort_engine.ts), and `WorkerEngine`
 * (core/engine/worker_engine.ts), which runs either of them in a Worker so the caller's event loop never blocks.
 */
import type { ChatMessage } from "../text/chat.ts";
import type { FinishReason } from "../model/streaming.ts";

export type { ChatMessage, ChatPart, ChatRole, EncodedImage, ImageMime } from "../text/chat.ts";
export type { FinishReason } from "../model/streaming.ts";

/** One generation to run: the chat so far and the sampling settings. */
export interface GenerationRequest {
  /** The conversation, ending with the turn to answer. */
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

/** What a generation produced. */
export interface GenerationResult {
  /** The reply, without any stop string. */
  text: string;
  /** Prompt length in tokens, vision pads included. */
  promptTokens: number;
  /** Tokens generated. */
  completionTokens: number;
  /** Why it ended: stop token or string, max tokens, or cancellation. */
  finishReason: FinishReason;
  /** Wall time of the generation in ms. */
  timingMs: number;
}

/**
 * "loading": weights not loaded yet; "ok": serving; "degraded": it cannot serve right now and is recovering (after
 * an allocation failure it recreates its session); "failed": it gave up and needs a restart.
 */
export type EngineStatus = "loading" | "ok" | "degraded" | "failed";

/** An inference engine: the server, the benchmarks and the library talk to the model through this. */
export interface InferenceEngine {
  /** Short stable identifier of the implementation, e.g. "stand-in" or "ort-webgpu". */
  readonly id: string;
  /** The model name served under /v1/models and expected in chat requests' `model` field. */
  readonly modelName: string;
  /** Prompt plus completion tokens the model can hold (its context window as this engine serves it). */
  readonly contextTokens: number;
  /** True when status() is "ok": generate() may be called. */
  ready(): boolean;
  /** Whether the engine serves now, and if not why (loading, recovering, failed). */
  status(): EngineStatus;
  /**
   * Tokens the prompt of `messages` will take, vision pads included (images counted from their sizes, never
   * decoded). Throws DataFormatError for an image the model's preprocessing cannot take.
   */
  countPromptTokens(messages: ChatMessage[]): Promise<number>;
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
