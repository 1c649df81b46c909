/**
 * deno task bench:kernels [--json FILE] [--quick]
 * Our WebGPU kernels vs onnxruntime-web (WebGPU EP on the same device, WASM EP) and tfjs (webgpu, wasm), one
 * process, the same shapes; prints GFLOP/s (GB/s for memory-bound ops) and our ratio to each peer.
 */
import { parseArgs } from "node:util";
import { writeFileAtomic } from "../core/io/atomic.ts";
import { runKernelBenchmark } from "../core/bench/kernels.ts";
import { tfjsPeers } from "./bench_kernels_tfjs.ts";

const { values } = parseArgs({
  options: { json: { type: "string" }, quick: { type: "boolean", default: false } },
});
const report = await runKernelBenchmark({ quick: values.quick!, extraPeers: tfjsPeers, log: (s) => console.error(s) });
console.log(report.table);
if (values.json) {
  await writeFileAtomic(values.json, JSON.stringify({ adapter: report.adapter, rows: report.rows }, null, 2));
  console.log(`wrote ${values.json}`);
}
Deno.exit(0);
