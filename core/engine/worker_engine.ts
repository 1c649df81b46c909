/**
 * An InferenceEngine whose work runs in Workers, so the caller's event loop (the HTTP server's) never blocks on
 * tokenizing, image decoding, vision encoding, prefill or decode: onnxruntime-web's WASM EP runs each session.run
 * synchronously, and a 16k-character prompt or eight 4096² images used to freeze /healthz for 18-29 s.
 *
 * Two Workers run core/engine/engine_worker.ts: the model Worker holds the engine core/engine/load.ts builds (the
 * real model, or the stand-in), and a counter Worker holds only the tokenizer, so countPromptTokens answers at once
 * even while the model Worker is inside a long prefill.
 *
 * Recovery: when the model Worker reports an allocation failure (EngineOutOfMemoryError), crashes, or does not stop
 * within `stuckAfterMs` of an abort, it is terminated (which also frees its WebAssembly memory, which never shrinks)
 * and a new one is started with the same model; status() is "degraded" meanwhile and jobs in flight fail with
 * EngineUnavailableError (HTTP 503). If the restart fails, status() is "failed".
 *
 * This module imports nothing that loads onnxruntime-web, and it keeps the Worker constructor it saw at load time:
 * onnxruntime-web may replace globalThis.Worker in the thread that imports it.
 */
import { exportOf, type ModelExport } from "../model/folder/export_of.ts";
import { resolveModelDir } from "../model/folder/resolve.ts";
import { EngineUnavailableError } from "../errors.ts";
import type { ChatMessage } from "../text/chat.ts";
import type { LoadedEngine } from "./load.ts";
import type { EngineStatus, GenerationRequest, GenerationResult, InferenceEngine } from "./types.ts";
import { type FromWorker, reviveError, type ToWorker, type WorkerInit, type WorkerReady } from "./worker_protocol.ts";

const NativeWorker = globalThis.Worker;
const WORKER_URL = new URL("./engine_worker.ts", import.meta.url).href;

export interface WorkerEngineOptions extends Omit<WorkerInit, "role"> {
  /** Load messages of the model Worker, and restart notices (default console.error). */
  log?: (message: string) => void;
  /** After an abort, how long the model Worker may take to stop before it is restarted as stuck (default 15 s). */
  stuckAfterMs?: number;
}

interface ModelJob {
  onToken?: (text: string) => void;
  resolve: (r: GenerationResult) => void;
  reject: (e: unknown) => void;
  text: string;
  tokens: number;
  t0: number;
  stuckTimer?: ReturnType<typeof setTimeout>;
}

interface CountJob {
  resolve: (n: number) => void;
  reject: (e: unknown) => void;
}

interface Spawned {
  worker: Worker;
  info: WorkerReady;
}

/**
 * An InferenceEngine whose model and token counter run in Workers (see the module comment).
 *
 * @example
 * const engine = await WorkerEngine.start({ standIn: true });
 * const r = await engine.generate({ messages: [{ role: "user", content: "hi" }], maxTokens: 8, temperature: 0,
 *   topP: 1, seed: 0, stop: [] });
 * await engine.close();
 */
export class WorkerEngine implements InferenceEngine {
  readonly id: string;
  readonly modelName: string;
  readonly contextTokens: number;
  /** What the model Worker loaded (description, stand-in, untrained, export dir). */
  readonly info: WorkerReady;
  /** Model Worker restarts so far, and why. */
  restarts = 0;
  /** Why each restart happened. */
  readonly restartReasons: string[] = [];
  readonly #options: WorkerEngineOptions;
  readonly #log: (m: string) => void;
  #model: Worker;
  #counter: Worker;
  #status: EngineStatus = "ok";
  #nextId = 1;
  readonly #modelJobs = new Map<number, ModelJob>();
  readonly #countJobs = new Map<number, CountJob>();
  #restarting: Promise<void> | null = null;
  #closed = false;

  private constructor(options: WorkerEngineOptions, model: Spawned, counter: Spawned) {
    this.#options = options;
    this.#log = options.log ?? ((m) => console.error(m));
    this.info = model.info;
    this.id = model.info.id;
    this.modelName = model.info.modelName;
    this.contextTokens = model.info.contextTokens;
    this.#model = model.worker;
    this.#counter = counter.worker;
    this.#wire(this.#model, "model");
    this.#wire(this.#counter, "counter");
  }

  /** Starts the model Worker (loading the model) and the counter Worker; resolves when both are ready. */
  static async start(options: WorkerEngineOptions = {}): Promise<WorkerEngine> {
    const log = options.log ?? ((m: string) => console.error(m));
    const { log: _log, stuckAfterMs: _s, ...init } = options;
    const model = await spawn({ ...init, role: "model" }, log);
    try {
      // the counter reads the export dir the model Worker resolved (the default model included)
      const counter = await spawn({ ...init, modelDir: model.info.modelDir, role: "counter" }, log);
      return new WorkerEngine({ ...options, modelDir: model.info.modelDir ?? options.modelDir }, model, counter);
    } catch (e) {
      model.worker.terminate();
      throw e;
    }
  }

  ready(): boolean {
    return this.#status === "ok";
  }

  /** "ok", "degraded" while a restart runs, "failed" when closed or a restart failed. */
  status(): EngineStatus {
    return this.#status;
  }

  countPromptTokens(messages: ChatMessage[]): Promise<number> {
    if (this.#closed) return Promise.reject(new EngineUnavailableError("the engine was closed"));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#countJobs.set(id, { resolve, reject });
      this.#counter.postMessage({ type: "count", id, messages } satisfies ToWorker);
    });
  }

  generate(req: GenerationRequest, onToken?: (text: string) => void, signal?: AbortSignal): Promise<GenerationResult> {
    if (this.#status !== "ok") {
      return Promise.reject(new EngineUnavailableError(`the engine is ${this.#status}`));
    }
    const id = this.#nextId++;
    const model = this.#model;
    return new Promise<GenerationResult>((resolve, reject) => {
      const job: ModelJob = { onToken, resolve, reject, text: "", tokens: 0, t0: performance.now() };
      const onAbort = () => {
        model.postMessage({ type: "abort", id } satisfies ToWorker);
        const ms = this.#options.stuckAfterMs ?? 15_000;
        job.stuckTimer = setTimeout(() => {
          if (!this.#modelJobs.has(id)) return;
          this.#modelJobs.delete(id);
          resolve({
            text: job.text,
            promptTokens: 0,
            completionTokens: job.tokens,
            finishReason: "cancelled",
            timingMs: performance.now() - job.t0,
          });
          this.#restart(`a generation did not stop within ${ms} ms of its cancellation`);
        }, ms);
      };
      const done = () => {
        signal?.removeEventListener("abort", onAbort);
        clearTimeout(job.stuckTimer);
      };
      job.resolve = (r) => {
        done();
        resolve(r);
      };
      job.reject = (e) => {
        done();
        reject(e);
      };
      this.#modelJobs.set(id, job);
      signal?.addEventListener("abort", onAbort, { once: true });
      model.postMessage({ type: "generate", id, req } satisfies ToWorker);
      if (signal?.aborted) onAbort();
    });
  }

  /** Resolves when a restart in progress (if any) has finished. */
  async settled(): Promise<void> {
    while (this.#restarting) await this.#restarting;
  }

  /** Terminates both Workers; pending work fails with EngineUnavailableError. */
  close(): Promise<void> {
    this.#closed = true;
    this.#status = "failed";
    this.#model.terminate();
    this.#counter.terminate();
    this.#failAll(this.#modelJobs, "the engine was closed");
    this.#failAll(this.#countJobs, "the engine was closed");
    return Promise.resolve();
  }

  #wire(worker: Worker, role: "model" | "counter"): void {
    worker.onmessage = (ev: MessageEvent<FromWorker>) => this.#dispatch(ev.data, role);
    worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault(); // a dead Worker is restarted; it must not take the server down
      if (worker !== (role === "model" ? this.#model : this.#counter)) return;
      if (role === "model") this.#restart(`the model Worker crashed: ${ev.message}`);
      else this.#restartCounter(ev.message);
    };
  }

  #dispatch(m: FromWorker, role: "model" | "counter"): void {
    switch (m.type) {
      case "log":
        this.#log(m.message);
        return;
      case "token": {
        const job = this.#modelJobs.get(m.id);
        if (!job) return;
        job.text += m.text;
        job.tokens++;
        job.onToken?.(m.text);
        return;
      }
      case "done": {
        const job = this.#modelJobs.get(m.id);
        if (!job) return;
        this.#modelJobs.delete(m.id);
        job.resolve(m.result);
        return;
      }
      case "counted": {
        const job = this.#countJobs.get(m.id);
        this.#countJobs.delete(m.id);
        job?.resolve(m.tokens);
        return;
      }
      case "error": {
        const error = reviveError(m.error);
        if (role === "counter") {
          const job = this.#countJobs.get(m.id);
          this.#countJobs.delete(m.id);
          job?.reject(error);
          return;
        }
        const job = this.#modelJobs.get(m.id);
        this.#modelJobs.delete(m.id);
        job?.reject(error);
        if (error.name === "EngineOutOfMemoryError") this.#restart(error.message);
        return;
      }
      default:
        return;
    }
  }

  #restart(reason: string): void {
    if (this.#restarting || this.#closed) return;
    this.#status = "degraded";
    this.restarts++;
    this.restartReasons.push(reason);
    this.#log(`engine: restarting the model Worker (${reason})`);
    this.#model.terminate();
    this.#failAll(this.#modelJobs, `the engine is restarting (${reason})`);
    const { log: _l, stuckAfterMs: _s, ...init } = this.#options;
    this.#restarting = spawn({ ...init, role: "model" }, () => {})
      .then((s) => {
        if (this.#closed) {
          s.worker.terminate();
          return;
        }
        this.#model = s.worker;
        this.#wire(s.worker, "model");
        this.#status = "ok";
        this.#log("engine: model Worker restarted");
      }, (e) => {
        this.#status = "failed";
        this.#log(`engine: the model Worker could not be restarted: ${(e as Error).message}`);
      })
      .finally(() => this.#restarting = null);
  }

  #restartCounter(why: string): void {
    this.#counter.terminate();
    this.#failAll(this.#countJobs, `the token counter crashed (${why})`);
    const { log: _l, stuckAfterMs: _s, ...init } = this.#options;
    spawn({ ...init, role: "counter" }, () => {}).then((s) => {
      this.#counter = s.worker;
      this.#wire(s.worker, "counter");
    }, () => this.#status = "failed");
  }

  #failAll(jobs: Map<number, { reject: (e: unknown) => void }>, why: string): void {
    const list = [...jobs.values()];
    jobs.clear();
    for (const j of list) j.reject(new EngineUnavailableError(why));
  }
}

/** Starts one Worker and waits for its "ready" (or its init error, thrown here with its class). */
function spawn(init: WorkerInit, log: (m: string) => void): Promise<Spawned> {
  const worker = new NativeWorker(WORKER_URL, { type: "module", name: `gasp-engine-${init.role}` });
  return new Promise<Spawned>((resolve, reject) => {
    worker.onmessage = (ev: MessageEvent<FromWorker>) => {
      const m = ev.data;
      if (m.type === "log") log(m.message);
      else if (m.type === "ready") resolve({ worker, info: m.info });
      else if (m.type === "init-error") {
        worker.terminate();
        reject(reviveError(m.error));
      }
    };
    worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      worker.terminate();
      reject(new EngineUnavailableError(`the ${init.role} Worker failed to start: ${ev.message}`));
    };
    worker.postMessage({ type: "init", init } satisfies ToWorker);
  });
}

/**
 * createEngine (core/engine/load.ts) in a Worker: the same model choice and description, with an engine whose work
 * never runs on the caller's thread. What `deno task serve` and `deno task bench:serve` use.
 */
export async function startEngineWorker(
  modelDir: string | undefined,
  options: Omit<WorkerEngineOptions, "modelDir"> = {},
): Promise<LoadedEngine & { engine: WorkerEngine }> {
  // Resolve and export here, once: restarted Workers reuse the export, and dispose() removes a temporary one.
  let exp: ModelExport | null = null;
  let resolved = "";
  if (modelDir !== undefined && !options.standIn) {
    const r = resolveModelDir(modelDir);
    exp = await exportOf(r, options.log ?? ((m) => console.error(m)));
    resolved = `${r.description}: `;
  }
  try {
    const engine = await WorkerEngine.start({ ...options, modelDir: exp?.dir ?? modelDir });
    return {
      engine,
      standIn: engine.info.standIn,
      untrained: engine.info.untrained,
      modelDir: engine.info.modelDir,
      dispose: () => exp?.dispose() ?? Promise.resolve(),
      description: `${resolved}${engine.info.description}; running in a Worker`,
    };
  } catch (e) {
    await exp?.dispose();
    throw e;
  }
}
