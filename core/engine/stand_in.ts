/**
 * STAND-IN ENGINE: NOT A MODEL. A deterministic InferenceEngine for tests, load tests and `deno task serve` before
 * the real head-free model is wired in. Its answer is a fixed function of the request (image count, sizes, a
 * checksum of all text and image bytes, the last user question, the seed), streamed word by word with a configurable
 * per-token delay; it honours max tokens, stop strings and abort exactly as a real engine must.
 */
import { ContextLengthExceededError } from "../errors.ts";
import { type ChatMessage, isEncodedImage, messageParts } from "../text/chat.ts";
import type { EngineStatus, GenerationRequest, GenerationResult, InferenceEngine } from "./types.ts";

export interface StandInOptions {
  /** Delay before each token, in ms: stands in for decode time (0 = as fast as the event loop allows). */
  tokenDelayMs: number;
  /** The engine reports ready() only after this many ms (tests /healthz 503 while loading). */
  loadDelayMs: number;
  modelName: string;
  /**
   * Busy-waits this many ms before the first token, blocking its thread as a real prefill does (tests that the
   * server's event loop does not wait on the engine when it runs in a Worker).
   */
  prefillBlockMs: number;
  /** Context the stand-in pretends to have (prompt + completion tokens). */
  contextTokens: number;
  /** Test hook: return an error to make generate() reject with it for this request. */
  fault?: (req: GenerationRequest) => Error | undefined;
}

export const STAND_IN_MODEL_NAME = "gasp-stand-in";

export class StandInEngine implements InferenceEngine {
  readonly id = "stand-in";
  readonly isStandIn = true;
  readonly modelName: string;
  readonly contextTokens: number;
  readonly options: StandInOptions;
  /** How many generate() calls saw their signal abort (tests check client disconnects reach the engine). */
  abortsSeen = 0;
  /** How many generate() calls started. */
  calls = 0;
  #readyAt: number;

  constructor(options: Partial<StandInOptions> = {}) {
    this.options = {
      tokenDelayMs: 2,
      loadDelayMs: 0,
      modelName: STAND_IN_MODEL_NAME,
      contextTokens: 4096,
      prefillBlockMs: 0,
      ...options,
    };
    this.modelName = this.options.modelName;
    this.contextTokens = this.options.contextTokens;
    this.#readyAt = performance.now() + this.options.loadDelayMs;
  }

  ready(): boolean {
    return performance.now() >= this.#readyAt;
  }

  status(): EngineStatus {
    return this.ready() ? "ok" : "loading";
  }

  countPromptTokens(messages: ChatMessage[]): Promise<number> {
    return Promise.resolve(standInPromptTokens(messages));
  }

  /** Ends the simulated load at once (tests that need a deterministic not-ready -> ready step). */
  finishLoading(): void {
    this.#readyAt = 0;
  }

  async generate(
    req: GenerationRequest,
    onToken?: (text: string) => void,
    signal?: AbortSignal,
  ): Promise<GenerationResult> {
    const t0 = performance.now();
    this.calls++;
    const fault = this.options.fault?.(req);
    if (fault) throw fault;
    const promptTokens = standInPromptTokens(req.messages);
    if (promptTokens + 1 > this.contextTokens) {
      throw new ContextLengthExceededError(promptTokens, 1, this.contextTokens, "context length");
    }
    if (this.options.prefillBlockMs > 0) {
      const until = performance.now() + this.options.prefillBlockMs;
      while (performance.now() < until) { /* blocking on purpose, like onnxruntime's synchronous prefill */ }
    }
    const full = standInAnswer(req);
    let finishReason: GenerationResult["finishReason"] = "stop";
    let text = full;
    for (const s of req.stop) {
      const i = s.length > 0 ? text.indexOf(s) : -1;
      if (i >= 0) text = text.slice(0, i);
    }
    const tokens = text.match(/\S+\s*|\s+/g) ?? [];
    if (tokens.length > req.maxTokens) {
      tokens.length = req.maxTokens;
      finishReason = "length";
    }
    let out = "";
    let produced = 0;
    for (const tok of tokens) {
      if (signal?.aborted) break;
      if (this.options.tokenDelayMs > 0) await sleep(this.options.tokenDelayMs, signal);
      else await Promise.resolve();
      if (signal?.aborted) break;
      out += tok;
      produced++;
      onToken?.(tok);
    }
    if (signal?.aborted) {
      this.abortsSeen++;
      finishReason = "cancelled";
    }
    return {
      text: out,
      promptTokens,
      completionTokens: produced,
      finishReason,
      timingMs: performance.now() - t0,
    };
  }
}

/** The stand-in's full (untruncated) answer: a pure function of the request. */
export function standInAnswer(req: GenerationRequest): string {
  const images = req.messages.flatMap((m) =>
    messageParts(m).flatMap((p) => p.type === "image" && p.image ? [p.image] : [])
  );
  const lastUser = [...req.messages].reverse().find((m) => m.role === "user");
  const question = (lastUser ? messageParts(lastUser) : []).map((p) => p.type === "text" ? p.text : "").join(" ")
    .trim();
  const dims = images.map((im) => `${im.width}x${im.height} ${isEncodedImage(im) ? im.mime.slice(6) : "rgb"}`)
    .join(", ");
  const q = question.length > 160 ? question.slice(0, 160) + "..." : question;
  return `[stand-in engine, not a model] I was given ${images.length} image(s)` +
    (images.length ? ` (${dims})` : "") + ` and the question "${q}". ` +
    `Request checksum ${requestChecksum(req)}, seed ${req.seed}.`;
}

/** Rough prompt size: 1 token per 4 characters of text, 64 per image (the stand-in has no tokenizer). */
export function standInPromptTokens(messages: ChatMessage[]): number {
  let n = 0;
  for (const m of messages) {
    n += 3; // role markers
    for (const p of messageParts(m)) n += p.type === "text" ? Math.ceil(p.text.length / 4) : 64;
  }
  return n;
}

/** FNV-1a 32-bit over every text and image byte of the request, as 8 hex digits. */
function requestChecksum(req: GenerationRequest): string {
  let h = 0x811c9dc5;
  const mix = (b: number) => {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  const enc = new TextEncoder();
  for (const m of req.messages) {
    for (const b of enc.encode(m.role)) mix(b);
    for (const p of messageParts(m)) {
      const bytes = p.type === "text"
        ? enc.encode(p.text)
        : p.type === "image" && p.image
        ? (isEncodedImage(p.image) ? p.image.bytes : p.image.data)
        : new Uint8Array(0);
      for (const b of bytes) mix(b);
    }
  }
  return h.toString(16).padStart(8, "0");
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
