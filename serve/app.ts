/**
 * The HTTP face of the head-free model: `createApp(engine, options)` returns a Hono app (tests call `app.request`;
 * serve/server.ts puts it on a socket).
 *
 *   POST /v1/vqa               {images, question, ...} -> {answer, usage, timing_ms}
 *   POST /v1/chat/completions  OpenAI-compatible, JSON or SSE (`stream: true`, ends with `data: [DONE]`)
 *   GET  /v1/models            the one model served
 *   GET  /healthz              200 when the engine is ready and not draining, else 503
 *   GET  /metrics              Prometheus text
 *   GET  /                     a small page to ask questions about uploaded images
 *
 * Every error is JSON in OpenAI's shape, produced by the one onError (serve/error_map.ts).
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { EngineQueue, type QueueOptions } from "../core/engine/queue.ts";
import type { InferenceEngine } from "../core/engine/types.ts";
import { bearerChecker } from "./auth.ts";
import { chatCompletionJson, runToCompletion, streamChatCompletion } from "./chat.ts";
import { ApiError } from "./errors.ts";
import { errorResponseBody } from "./error_map.ts";
import { defaultLimits, type ServeLimits } from "./limits.ts";
import { routeLabel, ServeMetrics } from "./metrics.ts";
import { indexPage } from "./page.ts";
import { chatToGeneration, readJsonBody, vqaToGeneration } from "./requests.ts";
import { chatCompletionSchema, vqaSchema } from "./schemas.ts";

export interface AppOptions {
  limits?: Partial<ServeLimits>;
  /** A queue to share (serve/server.ts drains it on shutdown), or options for a new one. */
  queue?: EngineQueue | Partial<QueueOptions>;
  /** When set, /v1/* requires `Authorization: Bearer <apiKey>` (401 otherwise). */
  apiKey?: string;
  /** CORS is off unless origins are listed here ("*" allows any). */
  corsOrigins?: string[];
  /** Where server-side faults (5xx) are logged; default console.error. */
  log?: (line: string) => void;
  metrics?: ServeMetrics;
}

export interface AppState {
  queue: EngineQueue;
  metrics: ServeMetrics;
  limits: ServeLimits;
}

/** Builds the app; the queue and metrics it uses are exposed on `appState(app)` for the server and tests. */
export function createApp(engine: InferenceEngine, options: AppOptions = {}): Hono {
  const limits: ServeLimits = { ...defaultLimits, ...options.limits };
  const queue = options.queue instanceof EngineQueue ? options.queue : new EngineQueue(engine, options.queue);
  const metrics = options.metrics ?? new ServeMetrics();
  const log = options.log ?? ((line: string) => console.error(line));
  const standIn = (engine as { isStandIn?: boolean }).isStandIn === true;
  const app = new Hono();
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
    c.header(
      "content-security-policy",
      "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; " +
        "connect-src 'self'; form-action 'none'; base-uri 'none'",
    );
    return c.html(indexPage(engine.modelName, standIn));
  });

  app.get("/healthz", (c) => {
    const q = queue.stats();
    if (queue.closed) return c.json({ status: "draining", model: engine.modelName, queue: q }, 503);
    if (!engine.ready()) return c.json({ status: "loading", model: engine.modelName, queue: q }, 503);
    return c.json({ status: "ok", model: engine.modelName, engine: engine.id, stand_in: standIn, queue: q });
  });

  app.get("/metrics", (c) => {
    const body = metrics.render(queue.stats(), engine.ready() && !queue.closed, engine.id, engine.modelName);
    return c.body(body, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });

  const modelCard = () => ({ id: engine.modelName, object: "model", created: 0, owned_by: "gasp-ts" });
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

  app.post("/v1/vqa", async (c) => {
    const body = await readJsonBody(c.req.raw, vqaSchema, limits.maxBodyBytes);
    const req = vqaToGeneration(body, limits, engine.modelName);
    const ctx = { queue, metrics, modelName: engine.modelName, clientSignal: c.req.raw.signal };
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
    const body = await readJsonBody(c.req.raw, chatCompletionSchema, limits.maxBodyBytes);
    const req = chatToGeneration(body, limits, engine.modelName);
    const ctx = { queue, metrics, modelName: engine.modelName, clientSignal: c.req.raw.signal };
    if (body.stream) return streamChatCompletion(ctx, req, body.stream_options?.include_usage === true);
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

const states = new WeakMap<Hono, AppState>();

/** The queue, metrics and limits behind an app made by createApp. */
export function appState(app: Hono): AppState {
  const s = states.get(app);
  if (!s) throw new Error("appState: this app was not made by createApp");
  return s;
}
