/**
 * Admits one generation and answers it: the prompt is counted in tokens (vision pads included) and checked against
 * --max-prompt-tokens and the model's context BEFORE it is queued (400 context_length_exceeded); then it runs through
 * the queue and is answered as a JSON body, or (chat with `stream: true`) as server-sent events in OpenAI's
 * chat.completion.chunk framing, ending with `data: [DONE]`. A streamed response starts (status 200, headers) only
 * when its generation starts, so a request refused while it waits (shutdown: 503, timeout: 504) still gets a real
 * status. A client that disconnects cancels its generation (request signal and stream cancel both abort it).
 *
 * finish_reason is the engine's own vocabulary: "stop", "length", or "cancelled" (shutdown, client gone).
 */
import type { EngineQueue } from "../core/engine/queue.ts";
import type { GenerationRequest, GenerationResult } from "../core/engine/types.ts";
import { ContextLengthExceededError } from "../core/errors.ts";
import { clientClosedRequest } from "./errors.ts";
import { errorResponseBody } from "./error_map.ts";
import type { ServeLimits } from "./limits.ts";
import type { ServeMetrics } from "./metrics.ts";

export interface RunContext {
  queue: EngineQueue;
  metrics: ServeMetrics;
  limits: ServeLimits;
  modelName: string;
  /** The incoming request's signal: aborts when the client goes away. */
  clientSignal: AbortSignal;
}

/**
 * Refuses the request now if the queue would (429/503), counts its prompt tokens in the engine (off this thread)
 * and applies the token limits. With no max_tokens given, the completion is capped to what the context has left.
 */
export async function admit(
  ctx: RunContext,
  req: GenerationRequest,
  maxTokensGiven: boolean,
): Promise<GenerationRequest> {
  ctx.queue.checkCapacity();
  const promptTokens = await ctx.queue.engine.countPromptTokens(req.messages);
  if (ctx.clientSignal.aborted) throw clientClosedRequest();
  const { maxPromptTokens } = ctx.limits;
  if (promptTokens > maxPromptTokens) {
    throw new ContextLengthExceededError(
      promptTokens,
      0,
      maxPromptTokens,
      "prompt length on this server (--max-prompt-tokens)",
    );
  }
  const context = ctx.queue.engine.contextTokens;
  const completion = maxTokensGiven ? req.maxTokens : 1;
  if (promptTokens + completion > context) {
    throw new ContextLengthExceededError(promptTokens, completion, context, "context length");
  }
  return maxTokensGiven ? req : { ...req, maxTokens: Math.min(req.maxTokens, context - promptTokens) };
}

/** Runs `req` through the queue and awaits the whole result; a client gone meanwhile is a 499, not a 200. */
export async function runToCompletion(ctx: RunContext, req: GenerationRequest): Promise<GenerationResult> {
  const t0 = performance.now();
  let first = true;
  let r: GenerationResult;
  try {
    r = await ctx.queue.submit(req, {
      signal: ctx.clientSignal,
      onToken: () => {
        if (first) ctx.metrics.recordFirstToken((performance.now() - t0) / 1000);
        first = false;
      },
    });
  } catch (e) {
    ctx.metrics.recordGeneration("error", (performance.now() - t0) / 1000, 0, 0);
    throw e;
  }
  ctx.metrics.recordGeneration(r.finishReason, (performance.now() - t0) / 1000, r.promptTokens, r.completionTokens);
  if (r.finishReason === "cancelled" && ctx.clientSignal.aborted) throw clientClosedRequest();
  return r;
}

export function chatCompletionJson(ctx: RunContext, r: GenerationResult, id: string, created: number) {
  return {
    id,
    object: "chat.completion" as const,
    created,
    model: ctx.modelName,
    system_fingerprint: null,
    choices: [{
      index: 0,
      message: { role: "assistant" as const, content: r.text, refusal: null },
      logprobs: null,
      finish_reason: r.finishReason,
    }],
    usage: {
      prompt_tokens: r.promptTokens,
      completion_tokens: r.completionTokens,
      total_tokens: r.promptTokens + r.completionTokens,
    },
  };
}

/**
 * Streams a chat completion. Resolves with the SSE response once the generation has started; rejects (the handler
 * maps the error to a status) when the queue refuses or drops the request before that.
 */
export async function streamChatCompletion(
  ctx: RunContext,
  req: GenerationRequest,
  includeUsage: boolean,
): Promise<Response> {
  const id = `chatcmpl-${crypto.randomUUID().replaceAll("-", "")}`;
  const created = Math.floor(Date.now() / 1000);
  const enc = new TextEncoder();
  const stop = new AbortController();
  const onClientAbort = () => stop.abort(ctx.clientSignal.reason);
  ctx.clientSignal.addEventListener("abort", onClientAbort, { once: true });
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let open = true;
  const send = (data: unknown) => {
    if (!open) return;
    try {
      controller.enqueue(enc.encode(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`));
    } catch {
      open = false; // the stream was cancelled between checks
    }
  };
  const chunk = (delta: Record<string, string>, finish: GenerationResult["finishReason"] | null) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model: ctx.modelName,
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const finishStream = () => {
    ctx.clientSignal.removeEventListener("abort", onClientAbort);
    if (open) {
      send("[DONE]");
      open = false;
      try {
        controller.close();
      } catch { /* already closed */ }
    }
  };
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      open = false;
      stop.abort(new Error("client disconnected"));
    },
  });
  const t0 = performance.now();
  let first = true;
  let markStarted!: () => void;
  const started = new Promise<"started">((r) => markStarted = () => r("started"));
  let job: Promise<GenerationResult>;
  try {
    job = ctx.queue.submit(req, {
      signal: stop.signal,
      onStart: () => {
        send(chunk({ role: "assistant", content: "" }, null)); // the role chunk opens the stream
        markStarted();
      },
      onToken: (text) => {
        if (first) ctx.metrics.recordFirstToken((performance.now() - t0) / 1000);
        first = false;
        send(chunk({ content: text }, null));
      },
    });
  } catch (e) {
    ctx.clientSignal.removeEventListener("abort", onClientAbort);
    throw e;
  }
  const outcome = await Promise.race([started, job.then((r) => r, (e) => ({ error: e }))]);
  if (outcome !== "started") {
    // Refused or dropped while waiting: no byte was sent, so the status can still say why.
    ctx.clientSignal.removeEventListener("abort", onClientAbort);
    if ("error" in outcome) {
      ctx.metrics.recordGeneration("error", (performance.now() - t0) / 1000, 0, 0);
      throw outcome.error;
    }
    ctx.metrics.recordGeneration(outcome.finishReason, (performance.now() - t0) / 1000, 0, 0);
    throw clientClosedRequest();
  }
  job.then((r) => {
    ctx.metrics.recordGeneration(r.finishReason, (performance.now() - t0) / 1000, r.promptTokens, r.completionTokens);
    send(chunk({}, r.finishReason));
    if (includeUsage) {
      send({
        id,
        object: "chat.completion.chunk",
        created,
        model: ctx.modelName,
        choices: [],
        usage: {
          prompt_tokens: r.promptTokens,
          completion_tokens: r.completionTokens,
          total_tokens: r.promptTokens + r.completionTokens,
        },
      });
    }
    finishStream();
  }, (e) => {
    ctx.metrics.recordGeneration("error", (performance.now() - t0) / 1000, 0, 0);
    send(errorResponseBody(e).body);
    finishStream();
  });
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    },
  });
}
