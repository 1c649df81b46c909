/**
 * Runs one generation through the queue and answers it: a JSON body, or (chat with `stream: true`) server-sent
 * events in OpenAI's chat.completion.chunk framing, ending with `data: [DONE]`. A client that disconnects cancels
 * its generation (request signal and stream cancel both abort it).
 */
import type { EngineQueue } from "../core/engine/queue.ts";
import type { FinishReason, GenerationRequest, GenerationResult } from "../core/engine/types.ts";
import { errorResponseBody } from "./error_map.ts";
import type { ServeMetrics } from "./metrics.ts";

export interface RunContext {
  queue: EngineQueue;
  metrics: ServeMetrics;
  modelName: string;
  /** The incoming request's signal: aborts when the client goes away. */
  clientSignal: AbortSignal;
}

/** OpenAI has no "cancelled"; a cancelled request has no client left to read it, so report "stop". */
function openAiFinish(r: FinishReason): "stop" | "length" {
  return r === "length" ? "length" : "stop";
}

/** Submits `req` (throws QueueFullError/EngineUnavailableError synchronously) and awaits the whole result. */
export function runToCompletion(ctx: RunContext, req: GenerationRequest): Promise<GenerationResult> {
  const t0 = performance.now();
  let first = true;
  const job = ctx.queue.submit(req, {
    signal: ctx.clientSignal,
    onToken: () => {
      if (first) ctx.metrics.recordFirstToken((performance.now() - t0) / 1000);
      first = false;
    },
  });
  return job.then((r) => {
    ctx.metrics.recordGeneration(r.finishReason, (performance.now() - t0) / 1000, r.promptTokens, r.completionTokens);
    return r;
  }, (e) => {
    ctx.metrics.recordGeneration("error", (performance.now() - t0) / 1000, 0, 0);
    throw e;
  });
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
      finish_reason: openAiFinish(r.finishReason),
    }],
    usage: {
      prompt_tokens: r.promptTokens,
      completion_tokens: r.completionTokens,
      total_tokens: r.promptTokens + r.completionTokens,
    },
  };
}

/** Starts a streamed chat completion. Throws synchronously (before any byte is sent) when the queue refuses it. */
export function streamChatCompletion(
  ctx: RunContext,
  req: GenerationRequest,
  includeUsage: boolean,
  onDone: () => void = () => {},
): Response {
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
  const chunk = (delta: Record<string, string>, finish: "stop" | "length" | null) => ({
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
    onDone();
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
  let job: Promise<GenerationResult>;
  try {
    job = ctx.queue.submit(req, {
      signal: stop.signal,
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
  // Only after the queue accepted the job: the role chunk opens the stream.
  send(chunk({ role: "assistant", content: "" }, null));
  job.then((r) => {
    ctx.metrics.recordGeneration(r.finishReason, (performance.now() - t0) / 1000, r.promptTokens, r.completionTokens);
    send(chunk({}, openAiFinish(r.finishReason)));
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
