/**
 * One WASM kernel thread (see pool.ts): instantiate the kernel module on the shared memory, then loop forever
 * taking tasks of the job the control block describes. It never returns to its event loop after starting, so it
 * receives nothing but the one start message.
 */
import { parentPort } from "node:worker_threads";
import { CTL, SPIN } from "./pool.ts";

interface Start {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctl: SharedArrayBuffer;
  scratch: number;
}

type Kernel = (p: number, t0: number, t1: number) => void;

parentPort!.once("message", (msg: Start) => {
  const c = new Int32Array(msg.ctl);
  let kernels: Kernel[];
  try {
    const inst = new WebAssembly.Instance(msg.module, { env: { memory: msg.memory } });
    const ex = inst.exports as Record<string, unknown>;
    (ex.set_scratch as (p: number) => void)(msg.scratch);
    // Kernel indices are the module's exports in declaration order, the same on every thread.
    kernels = WebAssembly.Module.exports(msg.module).filter((e) => e.kind === "function").map((e) =>
      ex[e.name] as Kernel
    );
  } catch (e) {
    Atomics.store(c, CTL.failed, 1);
    throw e;
  }
  // Read the generation before reporting ready: the caller issues no job until every worker is ready.
  let seen = Atomics.load(c, CTL.gen);
  Atomics.add(c, CTL.ready, 1);
  for (;;) {
    let spins = 0;
    while (Atomics.load(c, CTL.gen) === seen) {
      if (++spins > SPIN) {
        Atomics.wait(c, CTL.gen, seen);
        spins = 0;
      }
    }
    seen = Atomics.load(c, CTL.gen);
    if (Atomics.load(c, CTL.quit)) return;
    const fn = kernels[c[CTL.kernel]], p = c[CTL.params], tasks = c[CTL.tasks];
    try {
      for (;;) {
        const t = Atomics.add(c, CTL.next, 1);
        if (t >= tasks) break;
        fn(p, t, t + 1);
      }
    } catch (e) {
      Atomics.store(c, CTL.done, -1 << 20);
      Atomics.notify(c, CTL.done);
      throw e;
    }
    Atomics.add(c, CTL.done, 1);
    Atomics.notify(c, CTL.done);
  }
});
