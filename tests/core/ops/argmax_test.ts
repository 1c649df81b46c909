import { argmax, initGpu, Rng, Tensor, tidyAsync, topk, topkReference } from "../../../core/runtime.ts";
import { assertClose, deviceTest } from "./_check.ts";

function randomRows(rows: number, len: number, seed: number, levels = 0): Float32Array {
  const rng = new Rng(seed);
  // levels > 0: few distinct values, so ties are common.
  return Float32Array.from({ length: rows * len }, () => (levels ? rng.int(levels) : rng.normal() * 10));
}

function assertIntsEqual(what: string, got: Int32Array, want: Int32Array): void {
  if (got.length !== want.length) throw new Error(`${what}: length ${got.length} vs ${want.length}`);
  const i = got.findIndex((v, k) => v !== want[k]);
  if (i >= 0) throw new Error(`${what}: element ${i}: got ${got[i]}, expected ${want[i]}`);
}

const cases: [number, number][] = [[1, 1], [3, 7], [2, 65], [4, 257], [2, 1000], [1, 4096]];

deviceTest("argmax matches the reference and returns the first index among ties", async () => {
  await initGpu();
  for (const [rows, len] of cases) {
    for (const levels of [0, 3]) {
      const x = randomRows(rows, len, rows * 31 + len + levels, levels);
      await tidyAsync(async () => {
        const got = await argmax(Tensor.from(x, [rows, len])).toInt32Array();
        assertIntsEqual(
          `argmax ${rows}x${len} levels ${levels}`,
          got,
          topkReference(Float64Array.from(x), len, 1).indices,
        );
      });
    }
  }
  await tidyAsync(async () => {
    const got = await argmax(Tensor.from([2, 5, 5, 1, 5, -1, -1, -1], [2, 4])).toInt32Array();
    assertIntsEqual("argmax ties", got, Int32Array.from([1, 0]));
  });
});

deviceTest("topk returns values sorted descending with ties broken by lower index", async () => {
  await initGpu();
  for (const [rows, len] of cases) {
    for (const levels of [0, 4]) {
      const k = Math.min(len, 5);
      const x = randomRows(rows, len, rows + len * 3 + levels, levels);
      await tidyAsync(async () => {
        const { values, indices } = topk(Tensor.from(x, [rows, len]), k);
        const ref = topkReference(Float64Array.from(x), len, k);
        assertClose(`topk values ${rows}x${len}`, await values.toArray(), ref.values, 0, 0);
        assertIntsEqual(`topk indices ${rows}x${len} levels ${levels}`, await indices.toInt32Array(), ref.indices);
        if (values.shape.join() !== `${rows},${k}`) throw new Error(`shape [${values.shape}]`);
      });
    }
  }
  await tidyAsync(async () => {
    const { indices } = topk(Tensor.from([1, 3, 3, 2, 3, 1e4, -1e4], [7]), 7);
    assertIntsEqual("topk ties", await indices.toInt32Array(), Int32Array.from([5, 1, 2, 4, 3, 0, 6]));
  });
});
