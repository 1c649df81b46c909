/**
 * Text-streaming helpers shared by every generation loop (our GPU forward, the ONNX runner, the server engine):
 * how much decoded text is safe to show, and a cheap way to let timers and I/O run between tokens.
 */
import { setImmediate } from "node:timers";

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
