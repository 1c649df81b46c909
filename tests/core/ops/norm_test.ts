import { layerNorm, normReference, rmsNorm } from "../../../core/runtime.ts";
import { checkOp, deviceTest } from "./_check.ts";

const shapes = [[1], [7], [3, 5], [2, 65], [2, 3, 257], [1000]];

deviceTest("rmsNorm matches f64 reference and finite differences for x and weight", async () => {
  for (const shape of shapes) {
    const c = shape[shape.length - 1];
    await checkOp({
      name: `rmsNorm [${shape}]`,
      inputs: [{ shape, scale: 2, offset: 0.3 }, { shape: [c], offset: 1 }],
      run: ([x, w]) => rmsNorm(x, w, 1e-6),
      reference: ([x, w]) => normReference("rmsNorm", x, c, w, null, 1e-6),
      rtol: 1e-4,
      atol: 1e-5,
    });
  }
});

deviceTest("layerNorm matches f64 reference and finite differences for x, weight and bias", async () => {
  for (const shape of shapes.slice(1)) {
    const c = shape[shape.length - 1];
    await checkOp({
      name: `layerNorm [${shape}]`,
      inputs: [{ shape, scale: 3, offset: 5 }, { shape: [c], offset: 1 }, { shape: [c] }],
      run: ([x, w, b]) => layerNorm(x, w, b, 1e-5),
      reference: ([x, w, b]) => normReference("layerNorm", x, c, w, b, 1e-5),
      rtol: 1e-4,
      atol: 1e-4,
    });
  }
});

deviceTest("layerNorm without affine parameters and rmsNorm of a zero row stay finite", async () => {
  await checkOp({
    name: "layerNorm plain",
    inputs: [{ shape: [4, 9] }],
    run: ([x]) => layerNorm(x, null, null),
    reference: ([x]) => normReference("layerNorm", x, 9, null, null, 1e-5),
    rtol: 1e-4,
    atol: 1e-4,
  });
  await checkOp({
    name: "rmsNorm zero row",
    inputs: [{ shape: [2, 6], data: [0, 0, 0, 0, 0, 0, 1, -2, 3, 0.5, 2, -1] }, { shape: [6], offset: 1 }],
    run: ([x, w]) => rmsNorm(x, w, 1e-6),
    reference: ([x, w]) => normReference("rmsNorm", x, 6, w, null, 1e-6),
    rtol: 1e-4,
    atol: 1e-4,
    gradAtol: 5e-3,
    eps: 1e-9,
  });
});
