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
});

/** POST /v1/chat/completions (the subset of OpenAI's parameters this server honours, plus accepted no-ops). */
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
