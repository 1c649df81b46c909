/**
 * Messages between WorkerEngine (core/engine/worker_engine.ts, the caller's thread) and the engine Worker
 * (core/engine/engine_worker.ts), and how errors cross the boundary with their class intact (structured clone keeps
 * only name and message, so the server could no longer tell a DataFormatError, a 400, from a crash, a 500).
 */
import * as errors from "../errors.ts";
import type { ChatMessage } from "../text/chat.ts";
import type { StandInOptions } from "./stand_in.ts";
import type { GenerationRequest, GenerationResult } from "./types.ts";

/** What the Worker needs to build its engine (createEngine's options, minus functions). */
export interface WorkerInit {
  modelDir?: string;
  /** "model": the engine that generates; "counter": prompt token counting only (tokenizer, no model). */
  role: "model" | "counter";
  standIn?: boolean;
  standInOptions?: Partial<Omit<StandInOptions, "fault">>;
  executionProvider?: "auto" | "wasm" | "webgpu";
  modelName?: string;
  runsDir?: string;
  maxPixels?: number;
  contextTokens?: number;
}

export interface WorkerReady {
  id: string;
  modelName: string;
  contextTokens: number;
  standIn: boolean;
  untrained: boolean;
  modelDir?: string;
  description: string;
}

export type ToWorker =
  | { type: "init"; init: WorkerInit }
  | { type: "generate"; id: number; req: GenerationRequest }
  | { type: "abort"; id: number }
  | { type: "count"; id: number; messages: ChatMessage[] };

export type FromWorker =
  | { type: "ready"; info: WorkerReady }
  | { type: "init-error"; error: SerializedError }
  | { type: "log"; message: string }
  | { type: "token"; id: number; text: string }
  | { type: "done"; id: number; result: GenerationResult }
  | { type: "counted"; id: number; tokens: number }
  | { type: "error"; id: number; error: SerializedError };

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** Own enumerable fields (DataFormatError's file/field/expected, QueueFullError's retryAfterS, ...). */
  fields: Record<string, unknown>;
}

export function serializeError(e: unknown): SerializedError {
  if (!(e instanceof Error)) return { name: "Error", message: String(e), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") fields[k] = v;
  }
  return { name: e.name, message: e.message, stack: e.stack, fields };
}

/** The error again, as an instance of its core/errors.ts class when it had one (instanceof works). */
export function reviveError(s: SerializedError): Error {
  const known = (errors as Record<string, unknown>)[s.name];
  const proto = typeof known === "function" && known.prototype instanceof Error ? known.prototype : Error.prototype;
  const e = Object.create(proto) as Error;
  Object.defineProperty(e, "message", { value: s.message, writable: true, configurable: true });
  Object.defineProperty(e, "name", { value: s.name, writable: true, configurable: true });
  Object.defineProperty(e, "stack", {
    value: s.stack ?? `${s.name}: ${s.message}`,
    writable: true,
    configurable: true,
  });
  Object.assign(e, s.fields);
  return e;
}
