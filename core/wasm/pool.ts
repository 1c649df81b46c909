/**
 * Persistent module Workers on the shared WebAssembly.Memory. Each worker instantiates the kernel module once; a job
 * is a kernel index, a parameter pointer and a task count written into a shared control block (no postMessage per
 * op). Workers spin briefly on the job generation, then sleep in Atomics.wait; every thread, the caller included,
 * takes task indices from a shared counter until none are left, and the caller returns once every worker has
 * finished the job (so no worker can still be reading a job's fields when the next one is written).
 *
 * The workers come from node:worker_threads and are unref'd: a Deno Worker keeps the process alive for ever, and
 * onnxruntime-web replaces globalThis.Worker when it loads, so the global is never used here.
 */
import { Worker } from "node:worker_threads";

/** Control block slots (Int32). */
export const CTL = {
  gen: 0,
  kernel: 1,
  params: 2,
  tasks: 3,
  next: 4,
  done: 5,
  quit: 6,
  ready: 7,
  failed: 8,
} as const;
const CTL_WORDS = 16;

/** Spin iterations (each an Atomics.load) before a worker sleeps: long enough to bridge back-to-back ops. */
export const SPIN = 20000;

export class ThreadPool {
  readonly #ctl: Int32Array;
  readonly #workers: Worker[];
  jobs = 0;

  private constructor(ctl: Int32Array, workers: Worker[]) {
    this.#ctl = ctl;
    this.#workers = workers;
  }

  /** Start `n` workers (threads besides the caller), each with its own scratch range; resolves once all are ready. */
  static async start(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    scratch: number[],
  ): Promise<ThreadPool> {
    const ctl = new Int32Array(new SharedArrayBuffer(CTL_WORDS * 4));
    const workers = scratch.map((s) => {
      const w = new Worker(new URL("./worker.ts", import.meta.url));
      w.unref();
      w.postMessage({ module, memory, ctl: ctl.buffer, scratch: s });
      return w;
    });
    const errors: string[] = [];
    for (const w of workers) w.on("error", (e: Error) => errors.push(e.message));
    const t0 = performance.now();
    while (Atomics.load(ctl, CTL.ready) < workers.length) {
      if (Atomics.load(ctl, CTL.failed) || errors.length) {
        workers.forEach((w) => w.terminate());
        throw new Error(`a WASM worker failed to start: ${errors[0] ?? "instantiation failed"}`);
      }
      if (performance.now() - t0 > 30000) throw new Error("WASM workers did not start within 30 s");
      await new Promise((r) => setTimeout(r, 1));
    }
    return new ThreadPool(ctl, workers);
  }

  get threads(): number {
    return this.#workers.length + 1;
  }

  /** Run `tasks` tasks of kernel `index` on every thread; `self(p, t0, t1)` is the caller's instance of the kernel. */
  run(index: number, params: number, tasks: number, self: (p: number, t0: number, t1: number) => void): void {
    const c = this.#ctl;
    c[CTL.kernel] = index;
    c[CTL.params] = params;
    c[CTL.tasks] = tasks;
    Atomics.store(c, CTL.next, 0);
    Atomics.store(c, CTL.done, 0);
    Atomics.add(c, CTL.gen, 1);
    Atomics.notify(c, CTL.gen);
    this.jobs++;
    for (;;) {
      const t = Atomics.add(c, CTL.next, 1);
      if (t >= tasks) break;
      self(params, t, t + 1);
    }
    const n = this.#workers.length;
    let spins = 0;
    for (;;) {
      const d = Atomics.load(c, CTL.done);
      if (d >= n) break;
      if (d < 0) throw new Error("a WASM worker failed while running a kernel (see its error above)");
      if (++spins > SPIN) Atomics.wait(c, CTL.done, d, 1);
    }
  }

  /** Stop the workers (tests and shutdown; a process may also just exit). */
  stop(): void {
    Atomics.store(this.#ctl, CTL.quit, 1);
    Atomics.add(this.#ctl, CTL.gen, 1);
    Atomics.notify(this.#ctl, CTL.gen);
    for (const w of this.#workers) w.terminate();
  }
}
