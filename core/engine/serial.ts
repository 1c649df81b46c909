/**
 * One model, one generation at a time: an engine's jobs run in call order, each after the previous settled (a
 * failed job does not stop the next). Shared by the onnxruntime and the runtime engines.
 */
import type { GenerationResult } from "./types.ts";

/** Runs async jobs one after another in the order they were given. */
export class SerialRunner {
  #tail: Promise<unknown> = Promise.resolve();

  /** Starts `job` once every job given before it has settled; resolves or rejects as it does. */
  run<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(job);
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Resolves once every job given so far has settled. */
  async idle(): Promise<void> {
    await this.#tail;
  }
}

/** The result of a generation aborted before it produced anything. */
export function cancelledResult(): GenerationResult {
  return { text: "", promptTokens: 0, completionTokens: 0, finishReason: "cancelled", timingMs: 0 };
}
