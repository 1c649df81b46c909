/**
 * A bounded FIFO in front of one InferenceEngine: one generation runs at a time, at most `maxWaiting` more wait.
 *
 * `submit()` checks capacity synchronously, so an HTTP handler can answer 429 before it starts a response, and
 * calls `onStart` when the job begins to run (a streaming handler sends its headers then, so a job refused while
 * waiting still gets a proper status). Each job has a deadline (`timeoutMs`, counted from submission, waiting
 * included); when it passes, the running generation is aborted and the job rejects with GenerationTimeoutError. A
 * caller's AbortSignal (client disconnect) removes a waiting job or aborts the running one; such a job resolves with
 * finishReason "cancelled".
 *
 * Shutdown: `close()` stops accepting and rejects every waiting job with EngineUnavailableError (HTTP 503 with
 * Retry-After: another instance, or this one after a restart, can take it); the running job goes on until it ends
 * or `cancelAll()` aborts it (it then resolves with finishReason "cancelled").
 */
import { EngineUnavailableError, GenerationTimeoutError, QueueFullError } from "../errors.ts";
import type { GenerationRequest, GenerationResult, InferenceEngine } from "./types.ts";
import { cancelledResult } from "./serial.ts";

/** Capacity and deadlines of an {@linkcode EngineQueue}. */
export interface QueueOptions {
  /** Jobs allowed to wait behind the running one; the next submission gets QueueFullError. */
  maxWaiting: number;
  /** Deadline per job from submission, in ms (waiting + generating). */
  timeoutMs: number;
  /** Retry-After hint in seconds given with QueueFullError. */
  retryAfterS: number;
}

export const defaultQueueOptions: QueueOptions = {
  maxWaiting: 16, // about 16 short answers of backlog: enough to absorb bursts, small enough to fail fast
  timeoutMs: 120_000, // a 512-token answer on the WASM EP of the tiny model fits comfortably
  retryAfterS: 1,
};

/** Streaming and cancellation of one submitted generation. */
export interface SubmitOptions {
  /** Receives each piece of generated text. */
  onToken?: (text: string) => void;
  /** Aborting it removes a waiting job or stops the running one (it resolves as "cancelled"). */
  signal?: AbortSignal;
  /** Called once, when the job leaves the waiting line and its generation starts. */
  onStart?: () => void;
}

interface Job {
  req: GenerationRequest;
  opts: SubmitOptions;
  control: AbortController;
  timedOut: boolean;
  resolve: (r: GenerationResult) => void;
  reject: (e: unknown) => void;
  cleanup: () => void;
}

/** Queue counters (for /metrics and /healthz). */
export interface QueueStats {
  /** Jobs waiting. */
  waiting: number;
  /** Jobs running (0 or 1). */
  running: number;
  /** Jobs finished since start. */
  completed: number;
  /** Submissions refused as the queue was full. */
  rejected: number;
}

/** One generation at a time in front of an engine, with a bounded waiting line and per-job deadlines. */
export class EngineQueue {
  /** The resolved options. */
  readonly options: QueueOptions;
  #waiting: Job[] = [];
  #running: Job | null = null;
  #closed = false;
  #completed = 0;
  #rejected = 0;
  #idleWaiters: (() => void)[] = [];

  /** A queue in front of `engine`; unset options take defaultQueueOptions. */
  constructor(readonly engine: InferenceEngine, options: Partial<QueueOptions> = {}) {
    this.options = { ...defaultQueueOptions, ...options };
  }

  /** Current counters. */
  stats(): QueueStats {
    return {
      waiting: this.#waiting.length,
      running: this.#running ? 1 : 0,
      completed: this.#completed,
      rejected: this.#rejected,
    };
  }

  /** Whether close() was called (new submissions get EngineUnavailableError). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Throws (QueueFullError, EngineUnavailableError) when a submission now would be refused; else returns. */
  checkCapacity(): void {
    if (this.#closed) throw new EngineUnavailableError("the server is shutting down");
    const status = this.engine.status();
    if (status !== "ok") {
      throw new EngineUnavailableError(
        status === "loading"
          ? "the model is still loading"
          : status === "degraded"
          ? "the engine is recreating its session after a failure"
          : "the engine failed and could not recover; restart the server",
      );
    }
    if (this.#running !== null && this.#waiting.length >= this.options.maxWaiting) {
      this.#rejected++;
      throw new QueueFullError(this.#waiting.length, this.options.retryAfterS);
    }
  }

  /**
   * Queues a generation. Throws synchronously (QueueFullError, EngineUnavailableError) when it cannot be
   * accepted; otherwise returns a promise of the result.
   */
  submit(req: GenerationRequest, opts: SubmitOptions = {}): Promise<GenerationResult> {
    this.checkCapacity();
    return new Promise<GenerationResult>((resolve, reject) => {
      const control = new AbortController();
      const job: Job = { req, opts, control, timedOut: false, resolve, reject, cleanup: () => {} };
      const timer = setTimeout(() => {
        job.timedOut = true;
        control.abort(new GenerationTimeoutError(this.options.timeoutMs));
        if (this.#removeWaiting(job)) reject(new GenerationTimeoutError(this.options.timeoutMs));
      }, this.options.timeoutMs);
      const onCallerAbort = () => {
        control.abort(opts.signal?.reason);
        if (this.#removeWaiting(job)) resolve(cancelledResult());
      };
      job.cleanup = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onCallerAbort);
      };
      if (opts.signal?.aborted) {
        job.cleanup();
        resolve(cancelledResult());
        return;
      }
      opts.signal?.addEventListener("abort", onCallerAbort, { once: true });
      this.#waiting.push(job);
      this.#pump();
    });
  }

  /** Stops accepting new jobs and refuses the waiting ones (EngineUnavailableError); the running job goes on. */
  close(): void {
    this.#closed = true;
    for (const job of this.#waiting.splice(0)) {
      job.cleanup();
      job.reject(new EngineUnavailableError("the server is shutting down; this request was not started"));
    }
    this.#notifyIdle();
  }

  /** Aborts the running job (it resolves as "cancelled") and cancels any waiting ones. */
  cancelAll(reason = "server shutdown"): void {
    for (const job of this.#waiting.splice(0)) {
      job.control.abort(new Error(reason));
      job.cleanup();
      job.resolve(cancelledResult());
    }
    this.#running?.control.abort(new Error(reason));
    this.#notifyIdle();
  }

  /** Resolves when nothing is running or waiting. */
  idle(): Promise<void> {
    if (!this.#running && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  #removeWaiting(job: Job): boolean {
    const i = this.#waiting.indexOf(job);
    if (i < 0) return false;
    this.#waiting.splice(i, 1);
    job.cleanup();
    this.#notifyIdle();
    return true;
  }

  #notifyIdle(): void {
    if (this.#running || this.#waiting.length > 0) return;
    for (const r of this.#idleWaiters.splice(0)) r();
  }

  #pump(): void {
    if (this.#running) return;
    const job = this.#waiting.shift();
    if (!job) {
      this.#notifyIdle();
      return;
    }
    this.#running = job;
    const started = performance.now();
    try {
      job.opts.onStart?.();
    } catch { /* a caller's callback never stops the queue */ }
    Promise.resolve()
      .then(() => this.engine.generate(job.req, job.opts.onToken, job.control.signal))
      .then((result) => {
        if (job.timedOut) job.reject(new GenerationTimeoutError(this.options.timeoutMs));
        else job.resolve(result);
      }, (err) => {
        if (job.timedOut) job.reject(new GenerationTimeoutError(this.options.timeoutMs));
        else job.reject(err);
      })
      .finally(() => {
        job.cleanup();
        this.#completed++;
        this.#running = null;
        this.lastGenerationMs = performance.now() - started;
        this.#pump();
      });
  }

  /** Wall time of the most recent generation, for Retry-After estimates and metrics. */
  lastGenerationMs = 0;
}
