/**
 * 50 steps of a small MLP classifier (matmul + bias, GELU, matmul + bias, cross-entropy, clipGradNorm, AdamW) with
 * one tidy scope per step, on each device: the loss must fall and the number of live allocations must not grow.
 */
// B batch, I inputs, H hidden, K classes
import {
  AdamW,
  backward,
  clipGradNorm,
  crossEntropy,
  gelu,
  GpuContext,
  keep,
  matmul,
  Rng,
  Tensor,
  tidyAsync,
  WasmRuntime,
  zeroGrad,
} from "../../core/runtime.ts";
import { deviceTest } from "./ops/_check.ts";

deviceTest("an MLP training loop lowers the loss and does not leak device memory", async (device) => {
  const liveNow = () =>
    device === "wasm" ? WasmRuntime.current().stats().live : GpuContext.current().stats().liveBuffers;
  const [B, I, H, K] = [64, 8, 32, 4];
  const rng = new Rng(42);
  // Labels from a fixed random linear teacher, so the task is learnable.
  const teacher = Array.from({ length: I * K }, () => rng.normal());
  const xData = new Float32Array(B * I).map(() => rng.normal());
  const labels = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let best = 0, bestV = -Infinity;
    for (let k = 0; k < K; k++) {
      let v = 0;
      for (let i = 0; i < I; i++) v += xData[b * I + i] * teacher[i * K + k];
      if (v > bestV) [best, bestV] = [k, v];
    }
    labels[b] = best;
  }
  const x = keep(Tensor.from(xData, [B, I])); // (B, I)
  const init = (n: number, fanIn: number) => new Float32Array(n).map(() => rng.normal() / Math.sqrt(fanIn));
  const w1 = Tensor.param(init(I * H, I), [I, H], "w1");
  const b1 = Tensor.param(new Float32Array(H), [H], "b1");
  const w2 = Tensor.param(init(H * K, H), [H, K], "w2");
  const b2 = Tensor.param(new Float32Array(K), [K], "b2");
  const params = [w1, b1, w2, b2];
  const opt = new AdamW([{ params: [w1, w2], lr: 3e-2 }, { params: [b1, b2], lr: 3e-2, weightDecay: 0 }]);

  const losses: number[] = [];
  const live: number[] = [];
  for (let step = 0; step < 50; step++) {
    const loss = await tidyAsync(async () => {
      zeroGrad(params);
      const h = gelu(matmul(x, w1, { bias: b1 })); // (B, H)
      const logits = matmul(h, w2, { bias: b2 }); // (B, K)
      const l = crossEntropy(logits, labels); // ()
      backward(l);
      await clipGradNorm(params, 1.0);
      opt.step();
      return await l.item();
    });
    losses.push(loss);
    live.push(liveNow());
  }
  console.log(`losses ${losses[0].toFixed(4)} → ${losses[49].toFixed(4)}; live ${live.join(",")}`);
  const first = losses[0], last = losses[losses.length - 1];
  if (!(last < 0.5 * first)) throw new Error(`loss did not fall enough: ${first} → ${last}`);
  if (!losses.every(Number.isFinite)) throw new Error(`non-finite loss: ${losses}`);
  const settled = live[2];
  const worst = Math.max(...live.slice(2));
  if (worst > settled) throw new Error(`live buffers grew from ${settled} to ${worst}: ${live.join(",")}`);

  zeroGrad(params);
  opt.dispose();
  for (const t of [...params, x]) t.dispose();
});
