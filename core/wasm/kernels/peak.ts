/**
 * The SIMD128 FMA peak of this machine, measured the way the GEMM uses it: 12 independent f32x4 FMA chains (as many
 * as the micro-kernel's accumulators) in registers, no memory traffic. bench:kernels reports it beside the GEMM.
 */
import { f32Word, WasmRuntime } from "../runtime.ts";
import type { WasmFeatures } from "../runtime.ts";
import { fma, get, i32, kernel, loop, set } from "../wat.ts";

const CHAINS = 12;

export function peakWat(f: WasmFeatures): string {
  const madd = fma(f);
  const accs = [...Array(CHAINS).keys()].map((i) => `c${i}:v128`);
  return kernel(
    "fma_peak",
    ["iters", "out", "xf:f32"],
    ["t", "i", "x:v128", "y:v128", ...accs],
    `${set("x", "(f32x4.splat (local.get $xf))")} ${set("y", "(f32x4.splat (f32.const 0.999))")}
    ${
      loop(
        "t",
        get("t0"),
        get("t1"),
        `${[...Array(CHAINS).keys()].map((c) => set(`c${c}`, "(f32x4.splat (f32.const 0))")).join(" ")}
        ${
          loop(
            "i",
            i32(0),
            get("iters"),
            [...Array(CHAINS).keys()].map((c) => set(`c${c}`, madd(get(`c${c}`), get("y"), get("x")))).join("\n"),
          )
        }
        ;; keep the chains live: fold them into one store per task
        (v128.store (i32.add ${get("out")} (i32.shl ${get("t")} (i32.const 4)))
          ${[...Array(CHAINS).keys()].map((c) => get(`c${c}`)).reduce((a, b) => `(f32x4.add ${a} ${b})`)})`,
      )
    }`,
  );
}

/**
 * GFLOP/s of `tasks` × `iters` × 12 f32x4 FMAs (8 flops each) on `threads` threads (1 = the calling thread only).
 * `out` is scratch for one vector per task.
 */
export function measureFmaPeak(threads: "one" | "all", iters = 200_000, tasks = 8): number {
  const rt = WasmRuntime.current();
  const out = rt.heap.alloc(16 * tasks);
  const saved = rt.threadThreshold;
  try {
    rt.threadThreshold = threads === "one" ? Infinity : 0;
    const run = () => rt.run("fma_peak", [iters, out, f32Word(1e-3)], threads === "one" ? 1 : tasks, 1);
    run();
    const times: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      run();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const n = threads === "one" ? 1 : tasks;
    return (n * iters * CHAINS * 8) / times[2] / 1e6;
  } finally {
    rt.threadThreshold = saved;
    rt.heap.free(out, 16 * tasks);
  }
}
