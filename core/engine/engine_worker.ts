/**
 * The engine Worker: builds an engine with core/engine/load.ts (role "model") or a prompt token counter (role
 * "counter") and answers WorkerEngine's messages (core/engine/worker_protocol.ts). Everything that can block a
 * thread for long (tokenizing, image decoding, vision encoding, prefill, decode) happens here, not on the server's
 * event loop. Started only by core/engine/worker_engine.ts.
 */
/// <reference lib="deno.worker" />
import { createEngine } from "./load.ts";
import { loadPromptCounter } from "./prompt_tokens.ts";
import { standInPromptTokens } from "./stand_in.ts";
import type { InferenceEngine } from "./types.ts";
import type { ChatMessage } from "../text/chat.ts";
import { type FromWorker, serializeError, type ToWorker, type WorkerInit } from "./worker_protocol.ts";

const post = (m: FromWorker) => self.postMessage(m);
let engine: InferenceEngine | null = null;
let count: ((messages: ChatMessage[]) => number) | null = null;
const running = new Map<number, AbortController>();

async function init(init: WorkerInit): Promise<void> {
  const log = (message: string) => post({ type: "log", message });
  if (init.role === "counter") {
    count = init.standIn ? standInPromptTokens : await loadPromptCounter(init.modelDir!, { maxPixels: init.maxPixels });
    post({
      type: "ready",
      info: {
        id: "counter",
        modelName: "",
        contextTokens: 0,
        standIn: !!init.standIn,
        untrained: false,
        description: "",
      },
    });
    return;
  }
  const loaded = await createEngine(init.modelDir, {
    standIn: init.standIn,
    standInOptions: init.standInOptions,
    executionProvider: init.executionProvider,
    modelName: init.modelName,
    runsDir: init.runsDir,
    maxPixels: init.maxPixels,
    contextTokens: init.contextTokens,
    recreateOnAllocationFailure: false, // WorkerEngine restarts this Worker instead, returning its memory
    log,
  });
  engine = loaded.engine;
  post({
    type: "ready",
    info: {
      id: engine.id,
      modelName: engine.modelName,
      contextTokens: engine.contextTokens,
      standIn: loaded.standIn,
      untrained: loaded.untrained,
      modelDir: loaded.modelDir,
      description: loaded.description,
    },
  });
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  switch (m.type) {
    case "init":
      init(m.init).catch((e) => post({ type: "init-error", error: serializeError(e) }));
      return;
    case "count":
      Promise.resolve()
        .then(() => count ? count(m.messages) : engine!.countPromptTokens(m.messages))
        .then(
          (tokens) => post({ type: "counted", id: m.id, tokens }),
          (e) => post({ type: "error", id: m.id, error: serializeError(e) }),
        );
      return;
    case "generate": {
      const control = new AbortController();
      running.set(m.id, control);
      Promise.resolve()
        .then(() => engine!.generate(m.req, (text) => post({ type: "token", id: m.id, text }), control.signal))
        .then(
          (result) => post({ type: "done", id: m.id, result }),
          (e) => post({ type: "error", id: m.id, error: serializeError(e) }),
        )
        .finally(() => running.delete(m.id));
      return;
    }
    case "abort":
      running.get(m.id)?.abort();
      return;
  }
};
