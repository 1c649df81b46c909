/**
 * Throughput of an export dir on onnxruntime-web: vision encode time, prefill tokens/s over a prepared prompt and
 * decode tokens/s with the KV cache (greedy), after one warm-up pass (shader compilation / wasm JIT excluded).
 */
import type { ChatMessage } from "../text/chat_template.ts";
import { OrtVlmRunner } from "./ort_runner.ts";
import { argmax } from "./sampling.ts";

export interface OrtBenchResult {
  executionProvider: "wasm" | "webgpu";
  sessionMs: number;
  promptTokens: number;
  visionMs: number;
  prefillTokensPerSec: number;
  decodeTokensPerSec: number;
  decodeTokens: number;
}

export async function benchOrtModel(
  dir: string,
  ep: "wasm" | "webgpu",
  messages: ChatMessage[],
  opts: { decodeTokens?: number; reps?: number } = {},
): Promise<OrtBenchResult> {
  const reps = opts.reps ?? 3, nDecode = opts.decodeTokens ?? 16;
  const t0 = performance.now();
  const runner = await OrtVlmRunner.load(dir, { executionProvider: ep, log: () => {} });
  const sessionMs = performance.now() - t0;
  try {
    const warm = await runner.prepare(messages); // warm-up: vision + decoder kernels
    let { logits, cache } = await runner.prefill(warm);
    ({ logits, cache } = await runner.decodeStep(
      argmax(logits.subarray(logits.length - runner.config.vocab_size)),
      cache,
    ));
    const tv = performance.now();
    const prompt = await runner.prepare(messages);
    const visionMs = performance.now() - tv;
    const tp = performance.now();
    for (let r = 0; r < reps; r++) ({ logits, cache } = await runner.prefill(prompt));
    const prefillMs = (performance.now() - tp) / reps;
    const V = runner.config.vocab_size;
    let next = argmax(logits.subarray(logits.length - V));
    const td = performance.now();
    for (let i = 0; i < nDecode; i++) {
      ({ logits, cache } = await runner.decodeStep(next, cache));
      next = argmax(logits);
    }
    const decodeMs = performance.now() - td;
    return {
      executionProvider: ep,
      sessionMs,
      promptTokens: prompt.inputIds.length,
      visionMs,
      prefillTokensPerSec: prompt.inputIds.length / (prefillMs / 1000),
      decodeTokensPerSec: nDecode / (decodeMs / 1000),
      decodeTokens: nDecode,
    };
  } finally {
    await runner.release();
  }
}
