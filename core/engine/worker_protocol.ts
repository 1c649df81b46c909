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
  /** The export dir or run to load (createEngine's modelDir). */
  modelDir?: string;
  /** "model": the engine that generates; "counter": prompt token counting only (tokenizer, no model). */
  role: "model" | "counter";
  /** Run the stand-in engine. */
  standIn?: boolean;
  /** The stand-in's options (no functions: they cannot cross the Worker boundary). */
  standInOptions?: Partial<Omit<StandInOptions, "fault">>;
  /** onnxruntime-web execution provider. */
  executionProvider?: "auto" | "wasm" | "webgpu";
  /** Model name served. */
  modelName?: string;
  /** Where the default model is looked for. */
  runsDir?: string;
  /** Pixel ceiling per image. */
  maxPixels?: number;
  /** Context to serve. */
  contextTokens?: number;
}

/** What the Worker reports once its engine is loaded (LoadedEngine's fields and the engine's identity). */
export interface WorkerReady {
  /** The engine's id ("ort-wasm", "stand-in", …). */
  id: string;
  /** The model name served. */
  modelName: string;
  /** Prompt plus completion tokens the engine holds. */
  contextTokens: number;
  /** Whether it is the stand-in. */
  standIn: boolean;
  /** Whether the model has random weights. */
  untrained: boolean;
  /** The export dir loaded. */
  modelDir?: string;
  /** One line saying what was loaded. */
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
