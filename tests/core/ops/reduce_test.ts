import { max, mean, reduceReference, sum } from "../../../core/runtime.ts";
import { checkOp, deviceTest } from "./_check.ts";

const cases: [number[], number[]][] = [
  [[1], [0]],
  [[7], [0]],
  [[3, 5], [1]],
  [[3, 5], [0]],
  [[2, 3, 5], [0, 2]],
  [[4, 1, 3], [1]],
  [[2, 1000], [1]],
  [[3, 4, 5], [0, 1, 2]],
];

for (const kind of ["sum", "mean", "max"] as const) {
  deviceTest(`${kind} over axes matches f64 reference and finite differences`, async () => {
    const fn = { sum, mean, max }[kind];
    for (const [shape, axes] of cases) {
      await checkOp({
        name: `${kind} [${shape}] axes ${axes}`,
        inputs: [{ shape }],
        run: ([x]) => fn(x, axes, true),
        reference: ([x]) => reduceReference(kind, x, shape, axes),
        rtol: 1e-5,
        atol: 1e-4,
      });
    }
  });
}

deviceTest("sum without keepDims drops the reduced axes", async () => {
  await checkOp({
    name: "sum drop",
    inputs: [{ shape: [3, 4, 2] }],
    run: ([x]) => sum(x, -1),
    reference: ([x]) => reduceReference("sum", x, [3, 4, 2], [2]),
  });
});

deviceTest("max splits the gradient evenly among ties", async () => {
  await checkOp({
    name: "max ties",
    inputs: [{ shape: [2, 3], data: [1, 5, 5, 2, 2, 2] }],
    run: ([x]) => max(x, 1, true),
    reference: ([x]) => reduceReference("max", x, [2, 3], [1]),
    noGrad: true,
  });
});

// Long reductions go through chunked partials (REDUCE_CHUNK_ITERS); on llvmpipe a single pass over ~40k+ elements
// per workgroup was silently truncated by the loop limiter, so these sizes would fail without the chunking.
deviceTest("long reductions (150k elements, chunked partials) match the f64 reference", async () => {
  const long: [number[], number[]][] = [
    [[150_001], [0]],
    [[205, 512], [0, 1]],
    [[3, 70_001], [1]],
    [[70_001, 2], [0]],
  ];
  for (const kind of ["sum", "max"] as const) {
    const fn = { sum, max }[kind];
    for (const [shape, axes] of long) {
      await checkOp({
        name: `${kind} [${shape}] axes ${axes}`,
        inputs: [{ shape }],
        run: ([x]) => fn(x, axes, true),
        reference: ([x]) => reduceReference(kind, x, shape, axes),
        noGrad: true,
        rtol: 1e-4,
        atol: 2e-2,
      });
    }
  }
});
