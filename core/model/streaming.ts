/**
 * Text-streaming helpers shared by every generation loop (our GPU forward, the ONNX runner, the server engine):
 * how much decoded text is safe to show, and a cheap way to let timers and I/O run between tokens.
 */
import { setImmediate } from "node:timers";
import { findStop, Sampler } from "./sampling.ts";

/** How often a full timer turn is taken (see yieldToEventLoop). */
export const FULL_YIELD_EVERY_MS = 20;
let lastFullYield = 0;

/**
 * Lets timers and I/O run before continuing: a setImmediate turn (~16 µs) every time, and a setTimeout(0) turn
 * (~1-3 ms here) when FULL_YIELD_EVERY_MS have passed since the last one. setImmediate alone keeps timers ticking
 * but lets socket work through only slowly (a /healthz round trip during generation took ~1 s); with the timer turn
 * it took ~45 ms, for at most a few % of decode time.
 */
export function yieldToEventLoop(): Promise<void> {
  const now = performance.now();
  if (now - lastFullYield >= FULL_YIELD_EVERY_MS) {
    lastFullYield = now;
    return new Promise((resolve) => setTimeout(resolve, 0));
  }
  return new Promise((resolve) => setImmediate(resolve));
}

/** Length of `text` that can be shown: not a trailing partial UTF-8 char, not a suffix that starts a stop string. */
export function safeEmitLength(text: string, stops: readonly string[]): number {
  let end = text.length;
  while (end > 0 && text[end - 1] === "\uFFFD") end--;
  for (const s of stops) {
    for (let k = Math.min(s.length - 1, end); k > 0; k--) {
      if (text.slice(end - k, end) === s.slice(0, k)) {
        end -= k;
        break;
      }
    }
  }
  return end;
}

/**
 * Why a generation ended, one vocabulary for every generator, the engines and the HTTP API: "stop" (end-of-turn
 * token or stop string), "length" (max tokens), "cancelled" (abort: client gone, timeout, shutdown).
 */
export type FinishReason = "stop" | "length" | "cancelled";

export interface DecodeLoopOptions {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  seed?: number;
}

export interface DecodeLoopResult {
  text: string;
  tokens: number[];
  finishReason: FinishReason;
}

/**
 * The token loop every generator shares (our GPU forward, the ONNX runner, the server engine): sample → end-of-turn
 * ids → decode → stop strings → emit the text that is safe to show → feed the token back. It yields to the event
 * loop before every step, so a server on the same thread keeps answering (onnxruntime-web's WASM EP otherwise runs
 * a whole generation without one timer tick). The pieces given to `onToken` always concatenate to `text`.
 */
export async function decodeLoop(p: {
  /** Logits (V) at the last prompt position. */
  logits: Float32Array;
  /** Feed one token; logits (V) of the next position. */
  step: (tokenId: number) => Promise<Float32Array>;
  decode: (ids: number[]) => string;
  stopIds: Set<number>;
  opts: DecodeLoopOptions;
  onToken?: (delta: string, tokenId: number) => void;
  signal?: AbortSignal;
}): Promise<DecodeLoopResult> {
  const maxTokens = p.opts.maxTokens ?? 128, stops = p.opts.stop ?? [];
  const longestStop = stops.reduce((m, s) => Math.max(m, s.length), 0);
  const sampler = new Sampler({ temperature: p.opts.temperature, topP: p.opts.topP, seed: p.opts.seed });
  const tokens: number[] = [];
  let text = "", emitted = 0, logits = p.logits;
  let finishReason: DecodeLoopResult["finishReason"] = "length";
  const emit = (upTo: number) => {
    if (upTo > emitted) p.onToken?.(text.slice(emitted, upTo), tokens[tokens.length - 1]);
    emitted = Math.max(emitted, upTo);
  };
  while (tokens.length < maxTokens) {
    await yieldToEventLoop();
    if (p.signal?.aborted) {
      finishReason = "cancelled";
      break;
    }
    const id = sampler.sample(logits);
    if (p.stopIds.has(id)) {
      finishReason = "stop";
      break;
    }
    tokens.push(id);
    text = p.decode(tokens);
    const at = findStop(text, stops, Math.max(0, emitted - longestStop));
    if (at >= 0) {
      text = text.slice(0, at); // the stop string itself is never shown
      finishReason = "stop";
      break;
    }
    emit(safeEmitLength(text, stops));
    if (tokens.length >= maxTokens) break;
    logits = await p.step(id);
  }
  // Cut by length or cancellation: an unfinished UTF-8 sequence at the end is dropped, not shown.
  if (finishReason !== "stop") text = text.replace(/\uFFFD+$/, "");
  emit(text.length); // flush text held back as a possible stop-string start
  return { text, tokens, finishReason };
}
