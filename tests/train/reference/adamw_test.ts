import assert from "node:assert/strict";
import {
  accumulateGrad,
  adamWStep,
  clipGradNorm,
  createAdamWState,
  defaultParamGroups,
} from "../../../train/reference/adamw.ts";

const H = { betas: [0.9, 0.999] as [number, number], eps: 1e-8 };

Deno.test("adamWStep matches the torch.optim.AdamW update written out by hand for two steps", () => {
  const params = new Map([["l.lora_A.weight", Float64Array.from([0.5, -1.0])]]);
  const groups = [{ name: "lora", lrMultiplier: 1, weightDecay: 0.1, params: ["l.lora_A.weight"] }];
  const state = createAdamWState(params);
  const g1 = [0.2, -0.4];
  const g2 = [-0.1, 0.3];
  adamWStep(params, new Map([["l.lora_A.weight", Float64Array.from(g1)]]), state, groups, 0.01, H);
  adamWStep(params, new Map([["l.lora_A.weight", Float64Array.from(g2)]]), state, groups, 0.02, H);
  for (let i = 0; i < 2; i++) {
    let p = [0.5, -1.0][i];
    // step 1, lr 0.01
    p *= 1 - 0.01 * 0.1;
    let m = 0.1 * g1[i];
    let v = 0.001 * g1[i] ** 2;
    p -= (0.01 * (m / 0.1)) / (Math.sqrt(v / 0.001) + 1e-8);
    // step 2, lr 0.02
    p *= 1 - 0.02 * 0.1;
    m = 0.9 * m + 0.1 * g2[i];
    v = 0.999 * v + 0.001 * g2[i] ** 2;
    p -= (0.02 * (m / (1 - 0.9 ** 2))) / (Math.sqrt(v / (1 - 0.999 ** 2)) + 1e-8);
    assert(Math.abs(params.get("l.lora_A.weight")![i] - p) < 1e-15, `entry ${i}`);
  }
  assert.equal(state.step, 2);
});

Deno.test("defaultParamGroups puts heads at headLrMultiplier × the LoRA LR and exempts head biases from decay", () => {
  const names = [
    "model.layers.0.self_attn.q_proj.lora_A.weight",
    "correspondence_heads.0.fc1.weight",
    "correspondence_heads.0.fc1.bias",
  ];
  const groups = defaultParamGroups(names, { weightDecay: 0.01, headLrMultiplier: 4 });
  assert.deepEqual(groups.map((g) => [g.name, g.lrMultiplier, g.weightDecay, g.params.length]), [
    ["lora", 1, 0.01, 1],
    ["heads", 4, 0.01, 1],
    ["heads_no_decay", 4, 0, 1],
  ]);
  // Same gradient, zero decay: first AdamW step moves a head parameter 4× as far as a LoRA one.
  const params = new Map(names.map((n) => [n, new Float64Array([0])]));
  const grads = new Map(names.map((n) => [n, new Float64Array([0.3])]));
  const noDecay = groups.map((g) => ({ ...g, weightDecay: 0 }));
  adamWStep(params, grads, createAdamWState(params), noDecay, 1e-3, H);
  const dl = params.get(names[0])![0];
  const dh = params.get(names[1])![0];
  assert(Math.abs(dh / dl - 4) < 1e-9);
  assert.throws(() => defaultParamGroups(["model.embed_tokens.weight"], { weightDecay: 0, headLrMultiplier: 4 }));
});

Deno.test("clipGradNorm scales all gradients to the max global norm and leaves small ones alone", () => {
  const a = Float64Array.from([3, 0]);
  const b = Float64Array.from([0, 4]);
  const r = clipGradNorm([a, b], 1.0);
  assert.equal(r.norm, 5);
  const after = Math.hypot(a[0], a[1], b[0], b[1]);
  assert(Math.abs(after - 1) < 1e-6);
  const c = Float64Array.from([0.3, 0.4]);
  assert.deepEqual(clipGradNorm([c], 1.0), { norm: 0.5, scale: 1 });
  assert.deepEqual(Array.from(c), [0.3, 0.4]);
});

Deno.test("accumulateGrad over micro-batches gives the mean gradient", () => {
  const acc = new Float64Array(2);
  accumulateGrad(acc, Float64Array.from([1, 2]), 2);
  accumulateGrad(acc, Float64Array.from([3, 6]), 2);
  assert.deepEqual(Array.from(acc), [2, 4]);
});
