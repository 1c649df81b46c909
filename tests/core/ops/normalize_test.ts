import {
  cosineSimilarity,
  cosineSimilarityReference,
  l2Normalize,
  l2NormalizeReference,
} from "../../../core/runtime.ts";
import { checkOp, deviceTest } from "./_check.ts";

const cases: [number[], number][] = [[[1], -1], [[7], 0], [[3, 5], -1], [[3, 5], 0], [[2, 65, 3], 1], [[2, 257], -1], [
  [1000],
  0,
]];

deviceTest("l2Normalize along any axis matches f64 reference and finite differences", async () => {
  for (const [shape, axis] of cases) {
    await checkOp({
      name: `l2Normalize [${shape}] axis ${axis}`,
      inputs: [{ shape }],
      run: ([x]) => l2Normalize(x, axis),
      reference: ([x]) => l2NormalizeReference(x, shape, axis),
      rtol: 1e-4,
      atol: 1e-5,
    });
  }
});

deviceTest("l2Normalize divides by eps for a zero row (finite, no NaN)", async () => {
  await checkOp({
    name: "l2Normalize zero row",
    inputs: [{ shape: [2, 3], data: [0, 0, 0, 3, 4, 0] }],
    run: ([x]) => l2Normalize(x, -1, 1e-3),
    reference: ([x]) => l2NormalizeReference(x, [2, 3], -1, 1e-3),
    eps: 1e-9,
  });
});

deviceTest("cosineSimilarity (batched and shared b) matches f64 reference and finite differences", async () => {
  await checkOp({
    name: "cosine batched",
    inputs: [{ shape: [2, 5, 7] }, { shape: [2, 3, 7] }],
    run: ([a, b]) => cosineSimilarity(a, b),
    reference: ([a, b]) => cosineSimilarityReference(a, b, 2, 5, 3, 7),
    rtol: 1e-4,
    atol: 1e-5,
  });
  await checkOp({
    name: "cosine shared",
    inputs: [{ shape: [3, 1, 65] }, { shape: [4, 65] }],
    run: ([a, b]) => cosineSimilarity(a, b),
    reference: ([a, b]) => cosineSimilarityReference(a, b, 3, 1, 4, 65, 1e-8, true),
    rtol: 1e-4,
    atol: 1e-5,
  });
});
