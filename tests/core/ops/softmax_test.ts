import { initGpu, logSoftmax, Rng, softmax, softmaxReference, Tensor, tidyAsync } from "../../../core/runtime.ts";
import type { MaskMode } from "../../../core/runtime.ts";
import { assertClose, checkOp, deviceTest } from "./_check.ts";

const shapes = [[1], [7], [3, 5], [2, 65], [2, 3, 257], [1, 1000]];

for (const log of [false, true]) {
  const name = log ? "logSoftmax" : "softmax";
  const fn = log ? logSoftmax : softmax;

  deviceTest(`${name} matches f64 reference and finite differences on odd sizes`, async () => {
    for (const shape of shapes) {
      await checkOp({
        name: `${name} [${shape}]`,
        inputs: [{ shape, scale: 2 }],
        run: ([x]) => fn(x, { scale: 0.7 }),
        reference: ([x]) => softmaxReference(x, shape, { scale: 0.7, log }),
        rtol: 1e-4,
        atol: 1e-5,
      });
    }
  });

  deviceTest(`${name} is stable for ±1e4 inputs`, async () => {
    const data = [1e4, -1e4, 9999, 0, -1e4, 1e4 - 0.5, 3, -2, 1e4, 1e4];
    await checkOp({
      name: `${name} large`,
      inputs: [{ shape: [2, 5], data }],
      run: ([x]) => fn(x),
      reference: ([x]) => softmaxReference(x, [2, 5], { log }),
      rtol: 1e-4,
      atol: 1e-4,
      eps: 1e-7,
    });
  });

  for (const mode of ["keep", "additive"] as MaskMode[]) {
    deviceTest(
      `${name} with a broadcast ${mode} mask gives zeros on fully masked rows, forward and backward`,
      async () => {
        // x (2, 3, 6), mask (3, 6): row 1 fully masked, row 2 partly, row 0 all kept.
        const keep = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 1];
        const maskData = mode === "keep" ? keep : keep.map((k, i) => (k ? (i % 3) * 0.25 : -Infinity));
        const shape = [2, 3, 6];
        await checkOp({
          name: `${name} ${mode} mask`,
          inputs: [{ shape, scale: 3 }, { shape: [3, 6], data: maskData, grad: false }],
          run: ([x, m]) => fn(x, { mask: m, maskMode: mode, scale: 1.3 }),
          reference: ([x, m]) =>
            softmaxReference(x, shape, { mask: m, maskShape: [3, 6], maskMode: mode, scale: 1.3, log }),
          rtol: 1e-4,
          atol: 1e-5,
        });
      },
    );
  }
}

deviceTest("softmax over a 4096-long row sums to one and matches the reference", async () => {
  await initGpu();
  const rng = new Rng(7);
  const n = 4096;
  const x = new Float64Array(2 * n).map(() => rng.normal() * 4);
  await tidyAsync(async () => {
    const y = await softmax(Tensor.from(Float32Array.from(x), [2, n])).toArray();
    assertClose("softmax 4096", y, softmaxReference(x, [2, n]), 1e-4, 1e-7);
    const s = y.slice(0, n).reduce((a, b) => a + b, 0);
    if (Math.abs(s - 1) > 1e-4) throw new Error(`row sums to ${s}`);
  });
});

deviceTest("a fully masked row never produces NaN in logSoftmax gradients", async () => {
  await checkOp({
    name: "logSoftmax all masked",
    inputs: [{ shape: [2, 4] }, { shape: [2, 4], data: [0, 0, 0, 0, 0, 0, 0, 0], grad: false }],
    run: ([x, m]) => logSoftmax(x, { mask: m }),
    reference: () => new Float64Array(8),
  });
});
