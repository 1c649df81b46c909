/**
 * The engine's generation loop over an OrtVlmRunner: the same steps and results as `OrtVlmRunner.generate`
 * (prepare -> prefill -> sample / stop ids / stop strings / held-back text -> decode step), plus one thing the
 * server needs: it YIELDS TO THE EVENT LOOP between decode steps.
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
import { decodeLoop, safeEmitLength, yieldToEventLoop } from "../model/streaming.ts";

export { safeEmitLength, yieldToEventLoop };

/**
 * Generate an assistant reply with `runner`, yielding to the event loop before every decode step. `onToken` gets
 * each piece of text once it is safe to show (not a possible stop-string start, not a partial UTF-8 character); the
 * pieces always concatenate to `result.text`. Abort ends at the next step with finishReason "abort".
 */
export async function generateYielding(
  runner: OrtVlmRunner,
  messages: ChatMessage[],
  opts: GenerateOptions = {},
  onToken?: (delta: string) => void,
  signal?: AbortSignal,
): Promise<GenerateResult> {
  const stopIds = runner.stopTokenIds();
  const t0 = performance.now();
  const prompt = await runner.prepare(messages);
  const promptTokens = prompt.inputIds.length;
  await yieldToEventLoop();
  if (signal?.aborted) return done("", [], "abort", t0, performance.now());
  let { logits, cache } = await runner.prefill(prompt);
  const V = runner.config.vocab_size;
  const t1 = performance.now();
  const r = await decodeLoop({
    logits: logits.subarray(logits.length - V),
    step: async (id) => {
      ({ logits, cache } = await runner.decodeStep(id, cache));
      return logits;
    },
    decode: (ids) => runner.tokenizer.decode(ids, { skipSpecialTokens: true }),
    stopIds,
    opts,
    onToken: onToken && ((delta) => onToken(delta)),
    signal,
  });
  return done(r.text, r.tokens, r.finishReason, t0, t1);

  function done(
    text: string,
    tokens: number[],
    finishReason: GenerateResult["finishReason"],
    start: number,
    prefillEnd: number,
  ): GenerateResult {
    return {
      text,
      tokens,
      finishReason,
      promptTokens,
      prefillMs: prefillEnd - start,
      decodeMs: performance.now() - prefillEnd,
    };
  }
}
