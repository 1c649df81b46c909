import assert from "node:assert/strict";
import {
  backward,
  checkpoint,
  gelu,
  matmul,
  mul,
  noGrad,
  Rng,
  sum,
  Tensor,
  tidy,
  zeroGrad,
} from "../../core/runtime.ts";
import { assertClose, deviceTest } from "./ops/_check.ts";

function setup() {
  const rng = new Rng(5);
  const w = Tensor.param(Float32Array.from({ length: 12 }, () => rng.normal()), [4, 3], "w");
  const x = Tensor.from(Float32Array.from({ length: 8 }, () => rng.normal()), [2, 4], { requiresGrad: true });
  return { w, x };
}

const block = (w: Tensor) => (x: Tensor) => gelu(matmul(x, w));

deviceTest("activation checkpointing gives the same gradients as keeping activations", async () => {
  const { w, x } = setup();
  const plain = await tidyGrads(() => sum(mul(block(w)(x), 2)), w, x);
  const ckpt = await tidyGrads(() => sum(mul(checkpoint(block(w), [x]), 2)), w, x);
  assertClose("dW", ckpt.w, plain.w, 1e-6, 1e-6);
  assertClose("dx", ckpt.x, plain.x, 1e-6, 1e-6);
  w.dispose();
  x.dispose();
});

deviceTest("backward accumulates into .grad across calls until zeroGrad", async () => {
  const { w, x } = setup();
  tidy(() => backward(sum(block(w)(x))));
  const once = await w.grad!.toArray();
  tidy(() => backward(sum(block(w)(x))));
  const twice = await w.grad!.toArray();
  assertClose("accumulated", twice, Array.from(once, (v) => 2 * v), 1e-6, 1e-6);
  zeroGrad([w]);
  assert.equal(w.grad, null);
  w.dispose();
  x.dispose();
});

deviceTest("noGrad records no graph", () => {
  const { w, x } = setup();
  const y = noGrad(() => block(w)(x));
  assert.equal(y.requiresGrad, false);
  assert.equal(y.node, null);
  y.dispose();
  w.dispose();
  x.dispose();
});

async function tidyGrads(loss: () => Tensor, w: Tensor, x: Tensor) {
  zeroGrad([w, x]);
  tidy(() => backward(loss()));
  const out = { w: await w.grad!.toArray(), x: await x.grad!.toArray() };
  zeroGrad([w, x]);
  return out;
}
