/**
 * A bounded FIFO in front of one InferenceEngine: one generation runs at a time, at most `maxWaiting` more wait.
 *
 * `submit()` checks capacity synchronously, so an HTTP handler can answer 429 before it starts a streaming
 * response. Each job has a deadline (`timeoutMs`, counted from submission, waiting included); when it passes, the
 * running generation is aborted and the job rejects with GenerationTimeoutError. A caller's AbortSignal (client
 * disconnect) removes a waiting job or aborts the running one; such a job resolves with finishReason "cancelled".
 */
import { EngineUnavailableError, GenerationTimeoutError, QueueFullError } from "../errors.ts";
import type { GenerationRequest, GenerationResult, InferenceEngine } from "./types.ts";

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

export interface SubmitOptions {
  onToken?: (text: string) => void;
  signal?: AbortSignal;
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

export interface QueueStats {
  waiting: number;
  running: number;
  completed: number;
  rejected: number;
}

export class EngineQueue {
  readonly options: QueueOptions;
  #waiting: Job[] = [];
  #running: Job | null = null;
  #closed = false;
  #completed = 0;
  #rejected = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(readonly engine: InferenceEngine, options: Partial<QueueOptions> = {}) {
    this.options = { ...defaultQueueOptions, ...options };
  }

  stats(): QueueStats {
    return {
      waiting: this.#waiting.length,
      running: this.#running ? 1 : 0,
      completed: this.#completed,
      rejected: this.#rejected,
    };
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues a generation. Throws synchronously (QueueFullError, EngineUnavailableError) when it cannot be
   * accepted; otherwise returns a promise of the result.
   */
  submit(req: GenerationRequest, opts: SubmitOptions = {}): Promise<GenerationResult> {
    if (this.#closed) throw new EngineUnavailableError("the server is shutting down");
    if (!this.engine.ready()) throw new EngineUnavailableError("the model is still loading");
    const busy = this.#running !== null;
    if (busy && this.#waiting.length >= this.options.maxWaiting) {
      this.#rejected++;
      throw new QueueFullError(this.#waiting.length, this.options.retryAfterS);
    }
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

  /** Stops accepting new jobs; waiting and running jobs continue. */
  close(): void {
    this.#closed = true;
  }

  /** Aborts every waiting and running job (they resolve as "cancelled"). */
  cancelAll(reason = "server shutdown"): void {
    for (const job of [...this.#waiting]) job.control.abort(new Error(reason));
    for (const job of this.#waiting.splice(0)) {
      job.cleanup();
      job.resolve(cancelledResult());
    }
    this.#running?.control.abort(new Error(reason));
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
    this.engine.generate(job.req, job.opts.onToken, job.control.signal)
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

function cancelledResult(): GenerationResult {
  return { text: "", promptTokens: 0, completionTokens: 0, finishReason: "cancelled", timingMs: 0 };
}
