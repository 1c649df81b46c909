/**
 * deno task bench:kernels — our kernels (WebGPU; WASM on all threads and on one) vs onnxruntime-web (WebGPU EP on the
 * same device, WASM EP) and tfjs (webgpu, wasm), one process, the same shapes, and the SIMD128 FMA peak measured in
 * the same run; prints GFLOP/s (GB/s for memory-bound ops) and our ratio to each peer.
 * `--help` lists the flags.
 */
import { defineCommand, flag, runCommand } from "../core/cli.ts";
import { writeFileAtomic } from "../core/io/atomic.ts";
import { runKernelBenchmark } from "../core/bench/kernels.ts";
import { tfjsPeers } from "./bench_kernels_tfjs.ts";
import { deviceFlags } from "../core/device_init.ts";

const cmd = defineCommand({
  name: "bench:kernels",
  summary: "Kernel speed against onnxruntime-web (WebGPU, WASM) and tfjs, measured in the same run.",
  description: "--repeat N: each timed sample (and the warm-up) issues the op N times back to back and waits for " +
    "completion once; the reported ms is the sample time / N. Every engine does the same (ORT WebGPU: N " +
    "session.run + one onSubmittedWorkDone; tfjs: N calls + one data() readback of the last output). On real GPUs " +
    "use --repeat 50 to amortise the submit/sync round trip (~12 ms through Deno WebGPU). --json FILE writes " +
    "{ adapter, repeat, rows } with `repeat` on every row as well.",
  flags: {
    json: flag.string("also write the rows as JSON", { placeholder: "FILE" }),
    quick: flag.boolean("one shape per op kind, one timed run"),
    repeat: flag.int("op calls per timed sample", { default: 1, min: 1 }),
    threads: deviceFlags.threads,
  },
});

await runCommand(cmd, Deno.args, async (a) => {
  const report = await runKernelBenchmark({
    quick: a.quick,
    repeat: a.repeat,
    threads: a.threads,
    extraPeers: tfjsPeers,
    log: (s) => console.error(s),
  });
  console.log(report.table);
  if (a.json) {
    await writeFileAtomic(
      a.json,
      JSON.stringify({ adapter: report.adapter, repeat: report.repeat, rows: report.rows }, null, 2),
    );
    console.log(`wrote ${a.json}`);
  }
  Deno.exit(0);
});
