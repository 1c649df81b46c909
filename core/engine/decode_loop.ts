/**
 * The engine's generation over an OrtVlmRunner: `OrtVlmRunner.generate`, whose shared decode loop
 * (core/model/streaming.ts) has the one property the server needs: it YIELDS TO THE EVENT LOOP before prefill and
 * between decode steps.
 *
 * Why: onnxruntime-web's WASM EP (single-threaded, no proxy worker) runs each session.run synchronously inside
 * promises that resolve as microtasks, so a plain `await` loop never lets timers or I/O run: measured on this machine,
 * a 1.7 s generation saw 0 ticks of a 5 ms interval. A server using it could not notice a client disconnect, fire a
 * per-request timeout, answer /healthz or send 429s until the generation ended. Yielding before every decode step
 * (yieldToEventLoop) lets all of those happen between tokens. Vision encoding and prefill
 * remain single blocking calls (~0.1-0.7 s for the tiny model with 1-8 images on the WASM EP).
 */
import type { GenerateOptions, GenerateResult, OrtVlmRunner } from "../model/ort_runner.ts";
import type { ChatMessage } from "../text/chat_template.ts";
import { safeEmitLength, yieldToEventLoop } from "../model/streaming.ts";

export { safeEmitLength, yieldToEventLoop };

/**
 * Generate an assistant reply with `runner`, yielding to the event loop before every decode step. `onToken` gets
 * each piece of text once it is safe to show (not a possible stop-string start, not a partial UTF-8 character); the
 * pieces always concatenate to `result.text`. Abort ends at the next step with finishReason "abort".
 */
export function generateYielding(
  runner: OrtVlmRunner,
  messages: ChatMessage[],
  opts: GenerateOptions = {},
  onToken?: (delta: string) => void,
  signal?: AbortSignal,
): Promise<GenerateResult> {
  // OrtVlmRunner.generate runs the shared decodeLoop (core/model/streaming.ts), which yields before every step.
  return runner.generate(messages, opts, onToken && ((delta) => onToken(delta)), signal);
}
