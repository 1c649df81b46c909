import {
  concat,
  concatReference,
  contiguous,
  initGpu,
  permute,
  permuteReference,
  slice,
  sliceReference,
  split,
  Tensor,
  transpose,
} from "../../../core/runtime.ts";
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { checkOp, deviceTest } from "./_check.ts";

const permCases: [number[], number[]][] = [
  [[1], [0]],
  [[3, 5], [1, 0]],
  [[2, 3, 5], [2, 0, 1]],
  [[2, 7, 3, 4], [0, 2, 1, 3]],
  [[1, 3, 1, 5, 2], [4, 3, 2, 1, 0]],
  [[2, 1, 2, 3, 1, 2, 1, 3], [7, 0, 6, 1, 5, 2, 4, 3]],
];

deviceTest("permute matches f64 reference and finite differences up to rank 8", async () => {
  for (const [shape, perm] of permCases) {
    await checkOp({
      name: `permute [${shape}] by [${perm}]`,
      inputs: [{ shape }],
      run: ([x]) => permute(x, perm),
      reference: ([x]) => permuteReference(x, shape, perm),
    });
  }
});

deviceTest("transpose swaps two axes (negative axes allowed) and its gradient transposes back", async () => {
  await checkOp({
    name: "transpose (B,T,H,D)->(B,H,T,D)",
    inputs: [{ shape: [2, 7, 3, 4] }],
    run: ([x]) => transpose(x, 1, -2),
    reference: ([x]) => permuteReference(x, [2, 7, 3, 4], [0, 2, 1, 3]),
  });
});

const sliceCases: [number[], number, number, number][] = [
  [[1], 0, 0, 1],
  [[7], 0, 2, 5],
  [[3, 5], 1, 1, 4],
  [[3, 5], 0, 2, 3],
  [[2, 9, 3], 1, 4, 9],
  [[2, 3, 11], 2, 0, 1],
];

deviceTest("slice matches f64 reference and its backward pads the gradient into zeros", async () => {
  for (const [shape, axis, s, e] of sliceCases) {
    await checkOp({
      name: `slice [${shape}] axis ${axis} [${s}, ${e})`,
      inputs: [{ shape }],
      run: ([x]) => slice(x, axis, s, e),
      reference: ([x]) => sliceReference(x, shape, axis, s, e),
    });
  }
});

deviceTest("slice accepts Python-style negative bounds and rejects out-of-range ones", async () => {
  await initGpu();
  const x = Tensor.from([0, 1, 2, 3, 4, 5], [2, 3]);
  assertEquals(Array.from(await slice(x, -1, -2).toArray()), [1, 2, 4, 5]);
  let threw = false;
  try {
    slice(x, 1, 2, 5);
  } catch (e) {
    threw = /out of range/.test(String(e));
  }
  assertEquals(threw, true);
});

const concatCases: [number[][], number][] = [
  [[[1], [1]], 0],
  [[[3, 2], [3, 5], [3, 1]], 1],
  [[[2, 4], [1, 4]], 0],
  [[[2, 3, 4], [2, 1, 4], [2, 5, 4]], 1],
  [[[2, 3, 1], [2, 3, 3]], -1],
];

deviceTest("concat matches f64 reference and its backward slices the gradient", async () => {
  for (const [shapes, axis] of concatCases) {
    const ax = axis < 0 ? axis + shapes[0].length : axis;
    await checkOp({
      name: `concat ${shapes.map((s) => `[${s}]`).join(" ")} axis ${axis}`,
      inputs: shapes.map((shape) => ({ shape })),
      run: (xs) => concat(xs, axis),
      reference: (xs) => concatReference(xs, shapes, ax),
    });
  }
});

deviceTest("split then concat is the identity, and contiguous passes gradients through", async () => {
  await checkOp({
    name: "split/concat",
    inputs: [{ shape: [3, 10] }],
    run: ([x]) => contiguous(concat(split(x, [2, 5, 3], 1).reverse(), 1)),
    reference: ([x]) => {
      const shape = [3, 10];
      const parts = [[7, 10], [2, 7], [0, 2]].map(([s, e]) => sliceReference(x, shape, 1, s, e));
      return concatReference(parts, [[3, 3], [3, 5], [3, 2]], 1);
    },
  });
});

deviceTest("copy ops move i32 data unchanged", async () => {
  await initGpu();
  const x = Tensor.from([1, -2, 3, 2147483647, -5, 6], [2, 3], { dtype: "i32" });
  const y = transpose(x, 0, 1);
  assertEquals(y.dtype, "i32");
  assertEquals(Array.from(await y.toInt32Array()), [1, 2147483647, -2, -5, 3, 6]);
  assertEquals(Array.from(await concat([x, x], 0).toInt32Array()).slice(6), [1, -2, 3, 2147483647, -5, 6]);
});
