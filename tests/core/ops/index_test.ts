import {
  backward,
  embedding,
  gather,
  gatherReference,
  indexSelect,
  indexSelectReference,
  initGpu,
  Rng,
  Tensor,
  tidyAsync,
} from "../../../core/runtime.ts";
import { checkOp, deviceTest } from "./_check.ts";

function ids(n: number, v: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => rng.int(v));
}

const selectCases: [number[], number, number][] = [
  [[1], 0, 1],
  [[7], 0, 9],
  [[3, 5], 1, 4],
  [[4, 3, 2], 1, 7],
  [[65, 3], 0, 257],
];

for (const onHost of [true, false]) {
  const how = onHost ? "host (CSR backward)" : "GPU tensor (scan for K ≤ 8, else GPU-built CSR backward)";
  deviceTest(`indexSelect with ${how} indices and repeats matches f64 reference and finite differences`, async () => {
    for (const [shape, axis, k] of selectCases) {
      const idx = ids(k, shape[axis], k + axis);
      await checkOp({
        name: `indexSelect [${shape}] axis ${axis} k ${k}`,
        inputs: [{ shape }],
        run: ([x]) => indexSelect(x, axis, onHost ? idx : Tensor.from(idx, [k], { dtype: "i32" })),
        reference: ([x]) => indexSelectReference(x, shape, axis, idx),
      });
    }
  });

  deviceTest(`embedding with ${how} ids scatter-adds into weight rows`, async () => {
    const [v, d] = [11, 65];
    const id = ids(14, v, 3); // (2, 7)
    id[3] = id[9] = id[10] = 4; // repeated rows
    await checkOp({
      name: `embedding ${how}`,
      inputs: [{ shape: [v, d] }],
      run: ([w]) => embedding(w, onHost ? id : Tensor.from(id, [2, 7], { dtype: "i32" })),
      reference: ([w]) => indexSelectReference(w, [v, d], 0, id),
    });
  });
}

deviceTest("embedding output has shape (…ids, D) and host/GPU backwards agree bit for bit", async () => {
  await initGpu();
  const [v, d] = [50, 33];
  const id = ids(40, v, 9);
  const grads: Float32Array[] = [];
  for (const onHost of [true, false]) {
    await tidyAsync(async () => {
      const w = Tensor.randn([v, d], new Rng(5), 1, { requiresGrad: true });
      const y = embedding(w, onHost ? id : Tensor.from(id, [5, 8], { dtype: "i32" }));
      if (onHost && y.shape.join() !== `40,${d}`) throw new Error(`host shape [${y.shape}]`);
      if (!onHost && y.shape.join() !== `5,8,${d}`) throw new Error(`GPU shape [${y.shape}]`);
      backward(y, Tensor.randn(y.shape, new Rng(6)));
      grads.push(await w.grad!.toArray());
      w.grad!.dispose();
    });
  }
  if (grads[0].some((g, i) => g !== grads[1][i])) throw new Error("CSR and scan backwards differ");
});

deviceTest("indexSelect rejects out-of-range host indices", async () => {
  await initGpu();
  await tidyAsync(() => {
    let msg = "";
    try {
      indexSelect(Tensor.zeros([3, 2]), 0, Int32Array.from([0, 3]));
    } catch (e) {
      msg = String(e);
    }
    if (!msg.includes("outside [0, 3)")) throw new Error(`expected a range error, got "${msg}"`);
    return Promise.resolve();
  });
});

const gatherCases: [number[], number, number[]][] = [
  [[1], 0, [1]],
  [[7], 0, [9]],
  [[3, 5], 1, [3, 4]],
  [[3, 5], 0, [2, 5]],
  [[4, 3, 65], 2, [2, 3, 7]],
];

deviceTest("gather along any axis matches f64 reference; backward scatter-adds repeated indices", async () => {
  for (const [shape, axis, iShape] of gatherCases) {
    const n = iShape.reduce((a, b) => a * b, 1);
    const index = ids(n, shape[axis], n + axis);
    await checkOp({
      name: `gather [${shape}] axis ${axis} index [${iShape}]`,
      inputs: [{ shape }],
      run: ([x]) => gather(x, axis, Tensor.from(index, iShape, { dtype: "i32" })),
      reference: ([x]) => gatherReference(x, shape, axis, index, iShape),
    });
  }
});
