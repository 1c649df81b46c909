/**
 * Text generation on our WebGPU forward (core/model/vlm.ts) with its KV cache: prefill the prompt once, then one
 * decodeStep per token; greedy / temperature / top-p through core/model/sampling.ts (seeded, so a (seed, prompt) pair
 * always gives the same tokens), stop token ids (config eos, <|im_end|>, <|endoftext|>), stop strings, max tokens and
 * an AbortSignal. Between tokens it awaits a macrotask (setTimeout 0), so a server on the same event loop keeps
 * answering while a reply is generated. Options and result have the shapes of OrtVlmRunner.generate's.
 *
 * GPU scopes: each step runs in a synchronous `tidy` (never tidyAsync, whose scope stack would interleave across the
 * awaits of concurrent generations); the logits tensor is read back and disposed by hand; the cache is disposed at
 * the end whatever happens.
 */
import { tidy } from "../tensor.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import type { GenerateOptions, GenerateResult } from "./ort_runner.ts";
import type { VlmInput, VlmKvCache, VlmModel } from "./vlm.ts";
import type { Tensor } from "../tensor.ts";
import { decodeLoop, safeEmitLength, yieldToEventLoop } from "./streaming.ts";

export { safeEmitLength, yieldToEventLoop };

export type { GenerateOptions, GenerateResult };

/** Ids that end generation: config eos ids plus <|im_end|> and <|endoftext|> when the tokenizer has them. */
export function stopTokenIds(model: VlmModel, tokenizer: TextTokenizer): Set<number> {
  const ids = new Set<number>();
  const eos = model.config.eos_token_id;
  for (const e of eos === undefined ? [] : Array.isArray(eos) ? eos : [eos]) ids.add(e);
  for (const t of ["<|im_end|>", "<|endoftext|>"]) {
    try {
      ids.add(tokenizer.tokenId(t));
    } catch { /* tokenizer without it */ }
  }
  return ids;
}

async function readAndDispose(t: Tensor): Promise<Float32Array> {
  try {
    return await t.toArray();
  } finally {
    t.dispose();
  }
}

/**
 * Generate up to `maxTokens` (default 128) tokens after `prompt` (input ids with pads already expanded, plus its
 * images/videos). `onToken(delta, id)` gets each newly decoded piece of text; text that could still become a stop
 * string or an unfinished UTF-8 sequence is held back, and the stop string itself is never shown.
 */
export async function generate(
  model: VlmModel,
  tokenizer: TextTokenizer,
  prompt: VlmInput,
  opts: GenerateOptions = {},
  onToken?: (delta: string, tokenId: number) => void,
  signal?: AbortSignal,
): Promise<GenerateResult> {
  const stopIds = stopTokenIds(model, tokenizer);
  const promptTokens = prompt.inputIds.length;
  const t0 = performance.now();
  if (signal?.aborted) {
    return { text: "", tokens: [], finishReason: "cancelled", promptTokens, prefillMs: 0, decodeMs: 0 };
  }
  let cache: VlmKvCache | null = null;
  try {
    const pre = tidy(() => model.prefill(prompt));
    const kv: VlmKvCache = cache = pre.cache;
    const logits = await readAndDispose(pre.logits);
    const t1 = performance.now();
    const r = await decodeLoop({
      logits,
      step: (id) => readAndDispose(tidy(() => model.decodeStep(id, kv))),
      decode: (ids) => tokenizer.decode(ids, { skipSpecialTokens: true }),
      stopIds,
      opts,
      onToken,
      signal,
    });
    return { ...r, promptTokens, prefillMs: t1 - t0, decodeMs: performance.now() - t1 };
  } finally {
    cache?.dispose();
  }
}
