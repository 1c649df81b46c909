/**
 * zod schemas for every request body the server accepts; the TypeScript types come from them. Unknown keys are
 * rejected (a typo like `max_token` gets a 400 naming it instead of being silently ignored). Size limits that depend
 * on the server's configuration (serve/limits.ts) are checked after parsing, in serve/requests.ts.
 */
import { z } from "zod";

/** Absolute sanity caps so no single string can make validation itself expensive; real limits are tighter. */
const MAX_STRING = 64 * 1024 * 1024;

const maxTokens = z.number().int().min(1).max(1_000_000);
const temperature = z.number().min(0).max(2);
const topP = z.number().gt(0).max(1);
const seed = z.number().int().min(-(2 ** 53) + 1).max(2 ** 53 - 1);
const stop = z.union([z.string().min(1).max(256), z.array(z.string().min(1).max(256)).max(16)]);

export const textPartSchema = z.strictObject({
  type: z.literal("text"),
  text: z.string().max(MAX_STRING),
});

export const imageUrlPartSchema = z.strictObject({
  type: z.literal("image_url"),
  image_url: z.union([
    z.string().max(MAX_STRING),
    z.strictObject({ url: z.string().max(MAX_STRING), detail: z.enum(["auto", "low", "high"]).optional() }),
  ]),
});

export const contentPartSchema = z.discriminatedUnion("type", [textPartSchema, imageUrlPartSchema]);

export const chatMessageSchema = z.strictObject({
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: z.union([z.string().max(MAX_STRING), z.array(contentPartSchema).max(1024)]),
  name: z.string().max(256).optional(),
  // what clients echo back on assistant turns; no tool calls are ever produced, so an empty list only
  refusal: z.string().max(MAX_STRING).nullish(),
  tool_calls: z.array(z.unknown()).max(0).optional(),
});

/**
 * POST /v1/chat/completions: the OpenAI parameters this server honours, plus the benign ones clients send by default,
 * accepted when they ask for nothing this server would do differently (`logprobs: false`, `response_format:
 * {type: "text"}`, `logit_bias: {}`, `tools: []`, `store`, `metadata`, ...). Values that ask for something it does
 * not do (logprobs: true, a JSON schema, a non-empty logit_bias, tools) are refused in serve/requests.ts with a
 * message saying so; keys it does not know are a 400 naming them.
 */
export const chatCompletionSchema = z.strictObject({
  model: z.string().max(256).optional(),
  messages: z.array(chatMessageSchema).min(1).max(4096),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: maxTokens.nullish(),
  max_completion_tokens: maxTokens.nullish(),
  temperature: temperature.nullish(),
  top_p: topP.nullish(),
  seed: seed.nullish(),
  stop: stop.nullish(),
  n: z.literal(1).nullish(),
  user: z.string().max(256).optional(),
  // Accepted for client compatibility; only the neutral value is supported.
  frequency_penalty: z.literal(0).nullish(),
  presence_penalty: z.literal(0).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  response_format: z.looseObject({ type: z.enum(["text", "json_object", "json_schema"]) }).nullish(),
  logit_bias: z.record(z.string().max(16), z.number().min(-100).max(100)).nullish(),
  tools: z.array(z.looseObject({ type: z.string().max(64) })).max(128).nullish(),
  tool_choice: z.union([z.enum(["none", "auto", "required"]), z.looseObject({ type: z.string().max(64) })]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  modalities: z.array(z.enum(["text", "audio"])).max(2).nullish(),
  service_tier: z.enum(["auto", "default", "flex", "scale", "priority"]).nullish(),
  // Ignored: this server stores nothing and has no prompt cache; the ids are opaque to it.
  store: z.boolean().nullish(),
  metadata: z.record(z.string().max(64), z.string().max(512)).nullish(),
  safety_identifier: z.string().max(256).optional(),
  prompt_cache_key: z.string().max(256).optional(),
});
export type ChatCompletionBody = z.infer<typeof chatCompletionSchema>;

/** POST /v1/vqa: one question about one or more images. */
export const vqaSchema = z.strictObject({
  images: z.array(z.string().max(MAX_STRING)).min(1).max(1024),
  question: z.string().min(1).max(MAX_STRING),
  model: z.string().max(256).optional(),
  max_tokens: maxTokens.optional(),
  temperature: temperature.optional(),
  top_p: topP.optional(),
  seed: seed.optional(),
  stop: stop.optional(),
});
export type VqaBody = z.infer<typeof vqaSchema>;

/** Formats a zod failure as one readable sentence plus the offending parameter path (OpenAI's `param`). */
export function describeZodError(error: z.ZodError): { message: string; param: string | null } {
  const issue = error.issues[0];
  if (!issue) return { message: "Invalid request body.", param: null };
  const path = issue.path.map((p, i) => typeof p === "number" ? `[${p}]` : (i === 0 ? String(p) : `.${String(p)}`))
    .join("");
  let message = issue.message;
  if (issue.code === "unrecognized_keys") message = `Unrecognized parameter(s): ${issue.keys.join(", ")}`;
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : "";
  return { message: `${path ? path + ": " : ""}${message}${more}`, param: path || null };
}
