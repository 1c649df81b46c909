/**
 * One model, one generation at a time: an engine's generations run in call order, each after the previous one
 * settled (a failed one does not stop the next). The onnxruntime and the runtime engines both extend this.
 */
import type { GenerationRequest, GenerationResult, InferenceEngine } from "./types.ts";

/** The arguments of `InferenceEngine.generate`. */
export type GenerateArgs = Parameters<InferenceEngine["generate"]>;

/** An engine whose `generate` calls run one after another, in the order they were made. */
export abstract class SerialEngine {
  #tail: Promise<unknown> = Promise.resolve();

  /** Starts once every generation asked for before it has settled; resolves or rejects as `generateNow` does. */
  generate(req: GenerationRequest, onToken?: (text: string) => void, signal?: AbortSignal): Promise<GenerationResult> {
    const run = this.#tail.then(() => this.generateNow(req, onToken, signal));
    this.#tail = run.catch(() => {});
    return run;
  }

  /** One generation, with the model to itself. */
  protected abstract generateNow(...args: GenerateArgs): Promise<GenerationResult>;

  /** Resolves once every generation asked for so far has settled. */
  protected async idle(): Promise<void> {
    await this.#tail;
  }
}

/** The result of a generation aborted before it produced anything. */
export function cancelledResult(): GenerationResult {
  return { text: "", promptTokens: 0, completionTokens: 0, finishReason: "cancelled", timingMs: 0 };
}

/** What a generate loop returns (core/model/vlm_generate.ts and the ONNX runner). */
export interface GenerateOutput {
  /** The reply text. */
  text: string;
  /** Prompt length in tokens, vision pads included. */
  promptTokens: number;
  /** The generated token ids. */
  tokens: ArrayLike<number>;
  /** Why generation stopped. */
  finishReason: GenerationResult["finishReason"];
}

/** An engine's result from its generate loop's output, timed from `t0` (performance.now()). */
export function generationResult(r: GenerateOutput, t0: number): GenerationResult {
  return {
    text: r.text,
    promptTokens: r.promptTokens,
    completionTokens: r.tokens.length,
    finishReason: r.finishReason,
    timingMs: performance.now() - t0,
  };
}
