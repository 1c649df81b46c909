import { matmul, matmulReference } from "../../../core/runtime.ts";
import { checkOp, deviceTest } from "./_check.ts";

const sizes: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 1],
  [3, 5, 4],
  [9, 13, 17],
  [65, 3, 70],
  [16, 32, 8],
];

for (const transA of [false, true]) {
  for (const transB of [false, true]) {
    deviceTest(`matmul transA=${transA} transB=${transB} matches f64 reference and finite differences`, async () => {
      for (const [m, k, n] of sizes) {
        const aShape = transA ? [k, m] : [m, k];
        const bShape = transB ? [n, k] : [k, n];
        await checkOp({
          name: `matmul ${m}x${k}x${n}`,
          inputs: [{ shape: aShape }, { shape: bShape }],
          run: ([a, b]) => matmul(a, b, { transA, transB }),
          reference: ([a, b]) => matmulReference(a, aShape, b, bShape, { transA, transB }),
          rtol: 1e-4,
          atol: 1e-4,
        });
      }
    });
  }
}

deviceTest("batched matmul with a shared 2-D weight and fused bias matches reference and gradients", async () => {
  for (const transB of [false, true]) {
    const [bt, m, k, n] = [3, 5, 6, 7];
    const bShape = transB ? [n, k] : [k, n];
    await checkOp({
      name: `linear transB=${transB}`,
      inputs: [{ shape: [bt, m, k] }, { shape: bShape }, { shape: [n] }],
      run: ([a, b, bias]) => matmul(a, b, { transB, bias }),
      reference: ([a, b, bias]) => matmulReference(a, [bt, m, k], b, bShape, { transB, bias }),
      rtol: 1e-4,
      atol: 1e-4,
    });
  }
});

deviceTest("batched matmul with batched operands on both sides", async () => {
  await checkOp({
    name: "bmm",
    inputs: [{ shape: [2, 3, 4, 5] }, { shape: [2, 3, 5, 6] }],
    run: ([a, b]) => matmul(a, b),
    reference: ([a, b]) => matmulReference(a, [2, 3, 4, 5], b, [2, 3, 5, 6]),
    rtol: 1e-4,
    atol: 1e-4,
  });
});
