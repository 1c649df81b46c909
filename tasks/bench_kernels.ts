/**
 * deno task bench:kernels [--json FILE] [--quick] [--repeat N]
 * Our WebGPU kernels vs onnxruntime-web (WebGPU EP on the same device, WASM EP) and tfjs (webgpu, wasm), one
 * process, the same shapes; prints GFLOP/s (GB/s for memory-bound ops) and our ratio to each peer.
 * --repeat N (a positive integer, default 1): each timed sample (and the warm-up) issues the op N times back to back
 * and waits for completion once; the reported ms is the sample time / N. Every engine does the same (ORT WebGPU: N
 * session.run + one onSubmittedWorkDone; tfjs: N calls + one data() readback of the last output). On real GPUs use
 * --repeat 50 to amortise the submit/sync round trip (~12 ms through Deno WebGPU, which otherwise swamps every op).
 * --json FILE writes { adapter, repeat, rows } with `repeat` on every row as well.
 */
import { parseArgs } from "node:util";
import { writeFileAtomic } from "../core/io/atomic.ts";
import { runKernelBenchmark } from "../core/bench/kernels.ts";
import { parseRepeat } from "../core/bench/timing.ts";
import { tfjsPeers } from "./bench_kernels_tfjs.ts";

const { values } = parseArgs({
  options: {
    json: { type: "string" },
    quick: { type: "boolean", default: false },
    repeat: { type: "string" },
  },
});
let repeat: number;
try {
  repeat = parseRepeat(values.repeat);
} catch (err) {
  console.error((err as Error).message);
  Deno.exit(2);
}
const report = await runKernelBenchmark({
  quick: values.quick!,
  repeat,
  extraPeers: tfjsPeers,
  log: (s) => console.error(s),
});
console.log(report.table);
if (values.json) {
  await writeFileAtomic(
    values.json,
    JSON.stringify({ adapter: report.adapter, repeat: report.repeat, rows: report.rows }, null, 2),
  );
  console.log(`wrote ${values.json}`);
}
Deno.exit(0);
