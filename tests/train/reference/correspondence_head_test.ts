import assert from "node:assert/strict";
import { Rng } from "../../../core/random.ts";
import { type CorrespondenceHeadParams, headDims } from "../../../train/correspondence_head.ts";
import {
  correspondenceHeadBackward,
  correspondenceHeadForward,
  gelu,
  geluGrad,
} from "../../../train/reference/correspondence_head.ts";
import { randomNormal } from "../../../train/reference/dense.ts";

Deno.test("gelu (erf and tanh forms) gradient matches central differences and GELU(z) − GELU(−z) = z", () => {
  for (const form of ["erf", "tanh"] as const) {
    for (const z of [-6, -2.9, -1.3, -0.2, 0, 0.4, 2.1, 3.2, 7]) {
      const h = 1e-6;
      assert(Math.abs((gelu(z + h, form) - gelu(z - h, form)) / (2 * h) - geluGrad(z, form)) < 1e-8, `${form} ${z}`);
      assert(Math.abs(gelu(z, form) - gelu(-z, form) - z) < 1e-14, `${form} ${z}`);
    }
  }
  assert(Math.abs(gelu(1) - 0.8413447460685429) < 1e-15); // 1 · Φ(1)
  assert(Math.abs(gelu(1, "tanh") - gelu(1)) < 1e-3);
});

function randomHead(
  rng: Rng,
  shape: "app-b" | "sec-4",
  d: number,
  dEmb: number,
  gelu: "erf" | "tanh",
): CorrespondenceHeadParams {
  const dims = headDims(shape, d, dEmb);
  return {
    shape,
    gelu,
    dims,
    fc1Weight: randomNormal(dims.hidden, d, rng, 0.5),
    fc1Bias: Float64Array.from({ length: dims.hidden }, () => rng.normal() * 0.3),
    fc2Weight: randomNormal(dims.out, dims.hidden, rng, 0.5),
    fc2Bias: Float64Array.from({ length: dims.out }, () => rng.normal() * 0.3),
  };
}

Deno.test("head backward matches central finite differences for inputs and all four parameters (both shapes)", () => {
  const rng = new Rng(13);
  for (const [shape, d, dEmb, form] of [["app-b", 7, 0, "erf"], ["sec-4", 9, 3, "tanh"]] as const) {
    const p = randomHead(rng, shape, d, dEmb, form);
    const x = randomNormal(4, d, rng);
    const g = randomNormal(4, p.dims.out, rng); // L = Σ g ⊙ E
    const loss = () => {
      const e = correspondenceHeadForward(p, x).out;
      let s = 0;
      for (let i = 0; i < e.data.length; i++) s += e.data[i] * g.data[i];
      return s;
    };
    const { cache } = correspondenceHeadForward(p, x);
    const grads = correspondenceHeadBackward(p, cache, g);
    const checks: [Float64Array, Float64Array, string][] = [
      [x.data, grads.dX.data, "dX"],
      [p.fc1Weight.data, grads.fc1Weight.data, "fc1.weight"],
      [p.fc1Bias, grads.fc1Bias, "fc1.bias"],
      [p.fc2Weight.data, grads.fc2Weight.data, "fc2.weight"],
      [p.fc2Bias, grads.fc2Bias, "fc2.bias"],
    ];
    for (const [param, grad, name] of checks) {
      for (let i = 0; i < param.length; i++) {
        const h = 1e-6;
        const old = param[i];
        param[i] = old + h;
        const lp = loss();
        param[i] = old - h;
        const lm = loss();
        param[i] = old;
        const fd = (lp - lm) / (2 * h);
        assert(
          Math.abs(fd - grad[i]) < 1e-6 * Math.max(1, Math.abs(fd)),
          `${shape} ${name}[${i}]: ${fd} vs ${grad[i]}`,
        );
      }
    }
  }
});
