/**
 * The HTTP face of the head-free model: `createApp(engine, options)` returns a Hono app (tests call `app.request`;
 * serve/server.ts puts it on a socket).
 *
 *   POST /v1/vqa               {images, question, ...} -> {answer, usage, timing_ms}
 *   POST /v1/chat/completions  OpenAI-compatible, JSON or SSE (`stream: true`, ends with `data: [DONE]`)
 *   GET  /v1/models            the one model served
 *   GET  /healthz              200 when the engine serves and the server is not draining, else 503 with the reason
 *   GET  /metrics              Prometheus text
 *   GET  /openapi.json         the OpenAPI 3.1 document, generated from the zod schemas (serve/openapi.ts)
 *   GET  /docs                 that document as a page
 *   GET  /                     a small page to ask questions about uploaded images
 *
 * Every error is JSON in OpenAI's shape, produced by the one onError (serve/error_map.ts).
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import { EngineQueue, type QueueOptions } from "../core/engine/queue.ts";
import type { InferenceEngine } from "../core/engine/types.ts";
import { ConfigError } from "../core/errors.ts";
import { bearerChecker } from "./auth.ts";
import { admit, chatCompletionJson, type RunContext, runToCompletion, streamChatCompletion } from "./chat.ts";
import { docsPage } from "./docs_page.ts";
import { ApiError } from "./errors.ts";
import { errorResponseBody } from "./error_map.ts";
import { defaultLimits, type ServeLimits } from "./limits.ts";
import { routeLabel, ServeMetrics } from "./metrics.ts";
import { registerOpenApi } from "./openapi.ts";
import { indexPage } from "./page.ts";
import { chatToGeneration, readJsonBody, vqaToGeneration } from "./requests.ts";
import { chatCompletionSchema, vqaSchema } from "./schemas.ts";

/** Limits, queue, auth, CORS and logging of the app {@linkcode createApp} builds. */
export interface AppOptions {
  /** Request limits; unset ones take defaultLimits. */
  limits?: Partial<ServeLimits>;
  /** A queue to share (serve/server.ts drains it on shutdown), or options for a new one. */
  queue?: EngineQueue | Partial<QueueOptions>;
  /**
   * When set, /v1/* requires `Authorization: Bearer <apiKey>` (401 otherwise). An empty string is refused with a
   * ConfigError: leave it unset to run without auth.
   */
  apiKey?: string;
  /** CORS is off unless origins are listed here ("*" allows any). */
  corsOrigins?: string[];
  /** The model has random (untrained) weights: the page shows a warning banner, /healthz says so. */
  untrained?: boolean;
  /** Where server-side faults (5xx) are logged; default console.error. */
  log?: (line: string) => void;
  /** Metrics to record into (default: a new ServeMetrics). */
  metrics?: ServeMetrics;
}

export interface AppState {
  queue: EngineQueue;
  metrics: ServeMetrics;
  limits: ServeLimits;
}

const PAGE_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; " +
  "connect-src 'self'; form-action 'none'; base-uri 'none'";

/** Refuses an empty API key: it would otherwise look like auth was asked for while every request passes. */
export function checkApiKey(apiKey: string | undefined, source = "--api-key"): void {
  if (apiKey !== undefined && apiKey.trim() === "") {
    throw new ConfigError(
      source,
      "the API key is empty; omit the flag (and unset GASP_API_KEY) to run without auth, or give a non-empty key",
    );
  }
}

/**
 * Builds the app; the queue and metrics it uses are exposed on `appState(app)` for the server and tests.
 *
 * @example Ask the app a question without a socket (the stand-in engine here; createEngine for a model)
 * ```ts
 * import { createApp, StandInEngine } from "@gasp/gasp-ts";
 * const app = createApp(new StandInEngine());
 * const res = await app.request("/v1/chat/completions", {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({ model: "gasp-stand-in", messages: [{ role: "user", content: "What is here?" }] }),
 * });
 * console.log(res.status, await res.json());
 * ```
 */
export function createApp(engine: InferenceEngine, options: AppOptions = {}): GaspApp {
  checkApiKey(options.apiKey);
  const limits: ServeLimits = { ...defaultLimits, ...options.limits };
  const queue = options.queue instanceof EngineQueue ? options.queue : new EngineQueue(engine, options.queue);
  const metrics = options.metrics ?? new ServeMetrics();
  const log = options.log ?? ((line: string) => console.error(line));
  const standIn = (engine as { isStandIn?: boolean }).isStandIn === true ||
    (engine as { info?: { standIn?: boolean } }).info?.standIn === true;
  const untrained = options.untrained === true;
  const app = new OpenAPIHono();
  states.set(app, { queue, metrics, limits });

  app.use("*", async (c, next) => {
    const t0 = performance.now();
    await next();
    metrics.recordRequest(routeLabel(c.req.path), c.req.method, c.res.status, (performance.now() - t0) / 1000);
  });
  app.use("*", async (c, next) => {
    await next();
    c.header("x-content-type-options", "nosniff");
  });
  if (options.corsOrigins && options.corsOrigins.length > 0) {
    const origins = options.corsOrigins;
    app.use("/v1/*", cors({ origin: origins.includes("*") ? "*" : origins, maxAge: 600 }));
  }
  if (options.apiKey) {
    const check = bearerChecker(options.apiKey);
    app.use("/v1/*", async (c, next) => {
      if (c.req.method !== "OPTIONS") check(c.req.header("authorization") ?? null);
      await next();
    });
  }

  app.get("/", (c) => {
    c.header("content-security-policy", PAGE_CSP);
    return c.html(indexPage(engine.modelName, { standIn, untrained }));
  });

  registerOpenApi(app, { modelName: engine.modelName, auth: !!options.apiKey });
  app.get("/docs", (c) => {
    c.header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'");
    const doc = app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: { title: "GASP-TS spatial VQA server", version: "1" },
    });
    return c.html(docsPage(doc as Parameters<typeof docsPage>[0]));
  });

  app.get("/healthz", (c) => {
    const engineStatus = engine.status();
    const status = queue.closed ? "draining" : engineStatus;
    const body = {
      status,
      model: engine.modelName,
      engine: engine.id,
      stand_in: standIn,
      untrained,
      context_tokens: engine.contextTokens,
      max_prompt_tokens: Math.min(limits.maxPromptTokens, engine.contextTokens - 1),
      queue: queue.stats(),
    };
    return status === "ok" ? c.json(body) : c.json(body, 503, { "retry-after": "1" });
  });

  app.get("/metrics", (c) => {
    const body = metrics.render(queue.stats(), engine.ready() && !queue.closed, engine.id, engine.modelName);
    return c.body(body, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });

  const modelCard = () => ({ id: engine.modelName, object: "model" as const, created: 0, owned_by: "gasp-ts" });
  app.get("/v1/models", (c) => c.json({ object: "list", data: [modelCard()] }));
  app.get("/v1/models/:id", (c) => {
    if (c.req.param("id") !== engine.modelName) {
      throw new ApiError(
        404,
        `The model "${c.req.param("id").slice(0, 100)}" does not exist.`,
        "invalid_request_error",
        "model_not_found",
        "model",
      );
    }
    return c.json(modelCard());
  });

  const context = (signal: AbortSignal): RunContext => ({
    queue,
    metrics,
    limits,
    modelName: engine.modelName,
    clientSignal: signal,
  });

  app.post("/v1/vqa", async (c) => {
    const ctx = context(c.req.raw.signal);
    const body = await readJsonBody(c.req.raw, vqaSchema, limits.maxBodyBytes, limits.bodyTimeoutMs);
    const req = await admit(ctx, vqaToGeneration(body, limits, engine.modelName), body.max_tokens != null);
    const r = await runToCompletion(ctx, req);
    return c.json({
      answer: r.text,
      model: engine.modelName,
      finish_reason: r.finishReason,
      usage: { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens },
      timing_ms: Math.round(r.timingMs * 100) / 100,
    });
  });

  app.post("/v1/chat/completions", async (c) => {
    const ctx = context(c.req.raw.signal);
    const body = await readJsonBody(c.req.raw, chatCompletionSchema, limits.maxBodyBytes, limits.bodyTimeoutMs);
    const given = body.max_tokens != null || body.max_completion_tokens != null;
    const req = await admit(ctx, chatToGeneration(body, limits, engine.modelName), given);
    if (body.stream) return await streamChatCompletion(ctx, req, body.stream_options?.include_usage === true);
    const id = `chatcmpl-${crypto.randomUUID().replaceAll("-", "")}`;
    const created = Math.floor(Date.now() / 1000);
    const r = await runToCompletion(ctx, req);
    return c.json(chatCompletionJson(ctx, r, id, created));
  });

  app.notFound((c) => {
    const e = new ApiError(
      404,
      `No route ${c.req.method} ${c.req.path.slice(0, 200)}.`,
      "not_found_error",
      "not_found",
    );
    return c.json(e.body(), 404);
  });

  app.onError((err, c) => {
    const mapped = errorResponseBody(err);
    if (mapped.internal) {
      log(`[serve] ${c.req.method} ${c.req.path}: ${err instanceof Error ? err.stack : String(err)}`);
    }
    return c.json(mapped.body, mapped.status as 400, mapped.headers);
  });

  return app;
}

const states = new WeakMap<object, AppState>();

/**
 * The app createApp returns: the two calls of a Hono app that callers use (`fetch` for `Deno.serve`, `request` for
 * tests and in-process clients), so the library's type does not expose Hono's generics.
 */
export interface GaspApp {
  /** Answer one HTTP request (hand it to `Deno.serve`). */
  fetch: (request: Request) => Response | Promise<Response>;
  /** Answer a request built from a path or URL and init, in process (as Hono's `app.request`). */
  request: (input: string | URL | Request, init?: RequestInit) => Response | Promise<Response>;
}

/** The queue, metrics and limits behind an app made by createApp. */
export function appState(app: GaspApp): AppState {
  const s = states.get(app);
  if (!s) throw new Error("appState: this app was not made by createApp");
  return s;
}
