/**
 * HTTP-facing request errors in OpenAI's shape: `{error: {message, type, param, code}}`. Named engine and data errors
 * from core/errors.ts are mapped to these in serve/app.ts's one onError.
 */
export type ApiErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "not_found_error"
  | "rate_limit_error"
  | "server_error"
  | "timeout_error"
  | "service_unavailable";

export class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 405 | 408 | 413 | 415 | 429 | 499 | 500 | 503 | 504,
    message: string,
    readonly type: ApiErrorType = "invalid_request_error",
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  body(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export interface OpenAiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

/**
 * The client went away before its answer was ready (it aborted the upload, or disconnected while waiting). Counted
 * as 499 "client closed request" (nginx's code): a client error in the metrics, never a 500, and nothing is logged.
 */
export function clientClosedRequest(): ApiError {
  return new ApiError(
    499,
    "The client closed the request before the answer was ready.",
    "invalid_request_error",
    "client_closed_request",
  );
}
