import assert from "node:assert/strict";
import {
  add,
  attention,
  backward,
  matmul,
  mean,
  rmsNorm,
  Rng,
  softmax,
  sum,
  Tensor,
  tidyAsync,
  withDevice,
} from "../../../core/runtime.ts";
import { initWasm } from "../../../core/device_init.ts";

/** Every output and gradient of a small model-like graph on the WASM device, with the given thread threshold. */
async function run(threshold: number): Promise<Float32Array[]> {
  const rt = await initWasm();
  const saved = rt.threadThreshold;
  rt.threadThreshold = threshold;
  try {
    return await withDevice("wasm", () =>
      tidyAsync(async () => {
        const rng = new Rng(3);
        const x = Tensor.randn([2, 37, 96], rng, 1, { requiresGrad: true }); // (B, T, C)
        const gain = Tensor.randn([96], rng, 0.1, { requiresGrad: true });
        const w = Tensor.randn([96, 131], rng, 0.1, { requiresGrad: true });
        const bias = Tensor.randn([131], rng, 0.1, { requiresGrad: true });
        const wt = Tensor.randn([300, 131], rng, 0.1, { requiresGrad: true });
        const q = Tensor.randn([2, 4, 37, 32], rng, 1, { requiresGrad: true });
        const kv = Tensor.randn([2, 2, 37, 32], rng, 1, { requiresGrad: true });
        const h = matmul(rmsNorm(x, gain), w, { bias }); // (B, T, 131)
        const z = matmul(h, wt, { transB: true }); // (B, T, 300): two KC slices in the backward
        const a = attention(q, kv, kv, { causal: true }); // (B, Hq, T, D)
        const loss = add(add(sum(mean(z, -1)), sum(a)), sum(softmax(z)));
        backward(loss);
        const grads = [x, gain, w, bias, wt, q, kv].map((t) => t.grad!);
        return await Promise.all([h, z, a, loss, ...grads].map((t) => t.toArray()));
      }));
  } finally {
    rt.threadThreshold = saved;
  }
}

Deno.test("WASM kernels give bit-identical results on one thread and split over every thread", async () => {
  const rt = await initWasm();
  assert.ok(rt.threads >= Math.min(2, navigator.hardwareConcurrency), "the WASM device starts a thread per core");
  const before = rt.stats().threadedCalls;
  const one = await run(Infinity);
  const mid = rt.stats().threadedCalls;
  const all = await run(0);
  if (rt.threads > 1) {
    assert.equal(mid, before, "threshold ∞ kept every call on the calling thread");
    assert.ok(
      rt.stats().threadedCalls >= mid + 8,
      `threshold 0 split the calls over the threads (${rt.stats().threadedCalls - mid})`,
    );
  }
  assert.equal(one.length, all.length);
  one.forEach((a, i) => {
    assert.equal(a.length, all[i].length);
    const diff = a.findIndex((v, j) => !Object.is(v, all[i][j]));
    assert.equal(diff, -1, `result ${i} differs at ${diff}: ${a[diff]} vs ${all[i][diff]}`);
  });
});
