/**
 * The one mapping from errors to HTTP: ApiError carries its own status; named errors from core/errors.ts get a status
 * and OpenAI error type here; anything else is a 500 whose body does not leak internals.
 */
import {
  ConfigError,
  ContextLengthExceededError,
  DataFormatError,
  EngineOutOfMemoryError,
  EngineUnavailableError,
  GenerationTimeoutError,
  GpuDeviceLostError,
  NoGpuAdapterError,
  QueueFullError,
  ShapeMismatchError,
} from "../core/errors.ts";
import { ApiError, type OpenAiErrorBody } from "./errors.ts";

export interface MappedError {
  status: number;
  body: OpenAiErrorBody;
  headers: Record<string, string>;
  /** True for server-side faults worth logging with a stack. */
  internal: boolean;
}

export function errorResponseBody(err: unknown): MappedError {
  const api = toApiError(err);
  return {
    status: api.status,
    body: api.body(),
    headers: api.headers,
    internal: api.status >= 500 && api.status !== 503,
  };
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof QueueFullError) {
    return new ApiError(429, err.message, "rate_limit_error", "queue_full", null, {
      "retry-after": String(err.retryAfterS),
    });
  }
  if (err instanceof ContextLengthExceededError) {
    return new ApiError(400, err.message, "invalid_request_error", "context_length_exceeded", "messages");
  }
  if (err instanceof EngineOutOfMemoryError) {
    return new ApiError(503, err.message, "service_unavailable", "engine_out_of_memory", null, { "retry-after": "2" });
  }
  if (err instanceof EngineUnavailableError) {
    return new ApiError(503, err.message, "service_unavailable", "engine_unavailable", null, { "retry-after": "1" });
  }
  if (err instanceof GenerationTimeoutError) return new ApiError(504, err.message, "timeout_error", "timeout");
  if (err instanceof DataFormatError) return new ApiError(400, err.message, "invalid_request_error", "invalid_data");
  if (err instanceof NoGpuAdapterError || err instanceof GpuDeviceLostError) {
    return new ApiError(503, err.message, "service_unavailable", "gpu_unavailable");
  }
  if (err instanceof ShapeMismatchError || err instanceof ConfigError) {
    return new ApiError(500, `Internal engine error: ${err.message}`, "server_error", "engine_error");
  }
  if (isHttpException(err)) {
    const status = err.status === 413 ? 413 : err.status === 401 ? 401 : err.status === 404 ? 404 : 400;
    return new ApiError(status, err.message || "Bad request.", "invalid_request_error");
  }
  return new ApiError(500, "Internal server error; see the server log.", "server_error", "internal_error");
}

function isHttpException(err: unknown): err is { status: number; message: string } {
  return typeof err === "object" && err !== null && (err as { name?: unknown }).name === "HTTPException" &&
    typeof (err as { status?: unknown }).status === "number";
}
