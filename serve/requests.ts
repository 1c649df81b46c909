/**
 * Reading and checking request bodies: content type (415), size while streaming (413), a body read deadline (408),
 * JSON (400), zod schema (400), then conversion to the engine's GenerationRequest with configured limits (images,
 * text, tokens) applied. The prompt's token count is checked later, in serve/chat.ts, once the engine counted it.
 * A client that aborts its upload gets counted as 499, not as a server fault.
 */
import type { z } from "zod";
import type { ChatMessage, ChatPart, GenerationRequest } from "../core/engine/types.ts";
import { ApiError, clientClosedRequest } from "./errors.ts";
import { checkImageRef, type ServeLimits } from "./limits.ts";
import { type ChatCompletionBody, describeZodError, type VqaBody } from "./schemas.ts";

/** Reads a JSON body of at most `maxBytes`, without trusting Content-Length, and validates it against `schema`. */
export async function readJsonBody<S extends z.ZodType>(
  req: Request,
  schema: S,
  maxBytes: number,
  bodyTimeoutMs = 60_000,
): Promise<z.infer<S>> {
  const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") {
    throw new ApiError(
      415,
      `Content-Type must be application/json (got "${type || "none"}").`,
      "invalid_request_error",
      "unsupported_media_type",
    );
  }
  const tooLarge = () =>
    new ApiError(
      413,
      `Request body is larger than ${maxBytes} bytes. Send fewer or smaller images.`,
      "invalid_request_error",
      "request_too_large",
    );
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const text = await readTextCapped(req, maxBytes, tooLarge, bodyTimeoutMs);
  if (text.trim() === "") throw new ApiError(400, "Request body is empty; send a JSON object.");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new ApiError(
      400,
      `Request body is not valid JSON: ${detail.slice(0, 200)}`,
      "invalid_request_error",
      "invalid_json",
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const { message, param } = describeZodError(parsed.error);
    throw new ApiError(400, message, "invalid_request_error", "invalid_request", param);
  }
  return parsed.data;
}

async function readTextCapped(
  req: Request,
  maxBytes: number,
  tooLarge: () => ApiError,
  timeoutMs: number,
): Promise<string> {
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ApiError(
            408,
            `The request body was not received within ${timeoutMs} ms.`,
            "invalid_request_error",
            "body_timeout",
          ),
        ),
      timeoutMs,
    );
  });
  try {
    while (true) {
      let step: ReadableStreamReadResult<Uint8Array>;
      try {
        step = await Promise.race([reader.read(), deadline]);
      } catch (e) {
        if (e instanceof ApiError) throw e;
        throw clientClosedRequest(); // the upload broke off: the client aborted or its connection reset
      }
      const { done, value } = step;
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) throw tooLarge();
      chunks.push(value);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

function checkModel(model: string | undefined | null, modelName: string): void {
  if (model && model !== modelName) {
    throw new ApiError(
      404,
      `The model "${model.slice(0, 100)}" does not exist on this server; it serves "${modelName}" (GET /v1/models).`,
      "invalid_request_error",
      "model_not_found",
      "model",
    );
  }
}

function checkMaxTokens(requested: number | null | undefined, limits: ServeLimits, param: string): number {
  if (requested == null) return Math.min(limits.defaultMaxTokens, limits.maxTokens);
  if (requested > limits.maxTokens) {
    throw new ApiError(
      400,
      `${param} is ${requested}; this server allows at most ${limits.maxTokens}.`,
      "invalid_request_error",
      "max_tokens_too_large",
      param,
    );
  }
  return requested;
}

function checkStop(stop: string | string[] | null | undefined, limits: ServeLimits): string[] {
  const list = stop == null ? [] : typeof stop === "string" ? [stop] : stop;
  if (list.length > limits.maxStop) {
    throw new ApiError(
      400,
      `At most ${limits.maxStop} stop strings are allowed.`,
      "invalid_request_error",
      null,
      "stop",
    );
  }
  return list;
}

function checkTextBudget(chars: number, limits: ServeLimits): void {
  if (chars > limits.maxTextChars) {
    throw new ApiError(
      413,
      `The request has ${chars} characters of text; the limit is ${limits.maxTextChars}.`,
      "invalid_request_error",
      "text_too_long",
      "messages",
    );
  }
}

function checkImageCount(n: number, limits: ServeLimits, param: string): void {
  if (n > limits.maxImages) {
    throw new ApiError(
      400,
      `The request has ${n} images; this server accepts at most ${limits.maxImages}.`,
      "invalid_request_error",
      "too_many_images",
      param,
    );
  }
}

export function vqaToGeneration(body: VqaBody, limits: ServeLimits, modelName: string): GenerationRequest {
  checkModel(body.model, modelName);
  checkImageCount(body.images.length, limits, "images");
  checkTextBudget(body.question.length, limits);
  const maxTokens = checkMaxTokens(body.max_tokens, limits, "max_tokens");
  const stop = checkStop(body.stop, limits);
  const content: ChatPart[] = body.images.map((ref, i) => {
    const im = checkImageRef(ref, limits, `images[${i}]`);
    return { type: "image", image: { bytes: im.bytes, mime: im.mime, width: im.width, height: im.height } };
  });
  content.push({ type: "text", text: body.question });
  return {
    messages: [{ role: "user", content }],
    maxTokens,
    temperature: body.temperature ?? 0, // VQA answers default to greedy: reproducible without a seed
    topP: body.top_p ?? 1,
    seed: body.seed ?? 0,
    stop,
  };
}

/** Refuses benign-looking OpenAI parameters whose value asks for something this server does not do. */
function checkUnsupported(body: ChatCompletionBody): void {
  const refuse = (param: string, message: string) => {
    throw new ApiError(400, message, "invalid_request_error", "unsupported_parameter", param);
  };
  if (body.logprobs) refuse("logprobs", "logprobs are not supported by this server; omit logprobs or send false.");
  if (body.top_logprobs) refuse("top_logprobs", "top_logprobs are not supported; omit it or send 0.");
  if (body.response_format && body.response_format.type !== "text") {
    refuse(
      "response_format",
      `response_format type "${body.response_format.type}" is not supported; omit it or send {"type": "text"}.`,
    );
  }
  if (body.logit_bias && Object.keys(body.logit_bias).length > 0) {
    refuse("logit_bias", "logit_bias is not supported by this server; omit it or send {}.");
  }
  if (body.tools && body.tools.length > 0) refuse("tools", "Tools are not supported by this server; send no tools.");
  if (body.tool_choice != null && body.tool_choice !== "none" && body.tool_choice !== "auto") {
    refuse("tool_choice", 'tool_choice needs tools, which this server does not support; omit it or send "none".');
  }
  if (body.modalities && body.modalities.some((m) => m !== "text")) {
    refuse("modalities", 'This server answers in text only; omit modalities or send ["text"].');
  }
  if (body.service_tier && body.service_tier !== "auto" && body.service_tier !== "default") {
    refuse("service_tier", `service_tier "${body.service_tier}" is not offered; omit it or send "auto".`);
  }
}

export function chatToGeneration(body: ChatCompletionBody, limits: ServeLimits, modelName: string): GenerationRequest {
  checkModel(body.model, modelName);
  checkUnsupported(body);
  if (body.messages.length > limits.maxMessages) {
    throw new ApiError(
      400,
      `The request has ${body.messages.length} messages; the limit is ${limits.maxMessages}.`,
      "invalid_request_error",
      "too_many_messages",
      "messages",
    );
  }
  let chars = 0;
  let images = 0;
  for (const m of body.messages) {
    if (typeof m.content === "string") chars += m.content.length;
    else {
      for (const p of m.content) {
        if (p.type === "text") chars += p.text.length;
        else images++;
      }
    }
  }
  checkTextBudget(chars, limits);
  checkImageCount(images, limits, "messages");
  const maxTokens = checkMaxTokens(
    body.max_completion_tokens ?? body.max_tokens,
    limits,
    body.max_completion_tokens != null ? "max_completion_tokens" : "max_tokens",
  );
  const stop = checkStop(body.stop, limits);
  const messages: ChatMessage[] = body.messages.map((m, mi) => {
    const role = m.role === "developer" ? "system" : m.role;
    if (typeof m.content === "string") return { role, content: [{ type: "text", text: m.content }] };
    const content = m.content.map((p, pi): ChatPart => {
      if (p.type === "text") return { type: "text", text: p.text };
      if (role !== "user") {
        throw new ApiError(
          400,
          "Images are only allowed in user messages.",
          "invalid_request_error",
          null,
          `messages[${mi}]`,
        );
      }
      const url = typeof p.image_url === "string" ? p.image_url : p.image_url.url;
      const im = checkImageRef(url, limits, `messages[${mi}].content[${pi}].image_url`);
      return { type: "image", image: { bytes: im.bytes, mime: im.mime, width: im.width, height: im.height } };
    });
    return { role, content };
  });
  if (!messages.some((m) => m.role === "user")) {
    throw new ApiError(400, 'At least one message must have role "user".', "invalid_request_error", null, "messages");
  }
  return {
    messages,
    maxTokens,
    temperature: body.temperature ?? 1, // OpenAI's default
    topP: body.top_p ?? 1,
    seed: body.seed ?? 0,
    stop,
  };
}
