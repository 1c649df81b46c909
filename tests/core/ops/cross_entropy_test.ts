import { crossEntropy, crossEntropyReference, initGpu, Tensor, tidyAsync } from "../../../core/runtime.ts";
import type { CrossEntropyOptions } from "../../../core/runtime.ts";
import { checkOp, deviceTest } from "./_check.ts";

function targetsFor(rows: number, v: number, ignoreEvery = 0): Int32Array {
  return Int32Array.from({ length: rows }, (_, r) => (ignoreEvery && r % ignoreEvery === 1 ? -100 : (r * 7 + 3) % v));
}

const cases: [number, number][] = [[1, 1], [1, 7], [5, 3], [3, 65], [4, 257], [2, 1000]];

for (const reduction of ["mean", "sum", "none"] as const) {
  deviceTest(`crossEntropy (${reduction}) with ignored rows matches f64 reference and finite differences`, async () => {
    for (const [n, v] of cases) {
      const t = targetsFor(n, v, 3);
      const opts: CrossEntropyOptions = { reduction };
      await checkOp({
        name: `xent ${reduction} ${n}x${v}`,
        inputs: [{ shape: [n, v], scale: 3 }],
        run: ([x]) => crossEntropy(x, t, opts),
        reference: ([x]) => crossEntropyReference(x, v, t, opts),
        rtol: 1e-4,
        atol: 1e-5,
      });
    }
  });
}

deviceTest("crossEntropy takes i32 target tensors, leading dims and a custom ignore index", async () => {
  const t = Int32Array.from([2, 0, 5, 1, 5, 4]);
  await checkOp({
    name: "xent i32 tensor",
    inputs: [{ shape: [2, 3, 6], scale: 2 }],
    run: ([x]) => crossEntropy(x, Tensor.from(t, [2, 3], { dtype: "i32" }), { ignoreIndex: 5 }),
    reference: ([x]) => crossEntropyReference(x, 6, t, { ignoreIndex: 5 }),
    rtol: 1e-4,
    atol: 1e-5,
  });
});

deviceTest("crossEntropy is 0 with zero gradient (no NaN) when every target is ignored", async () => {
  const t = Int32Array.from([-100, -100, -100]);
  await checkOp({
    name: "xent all ignored",
    inputs: [{ shape: [3, 4] }],
    run: ([x]) => crossEntropy(x, t),
    reference: ([x]) => crossEntropyReference(x, 4, t),
  });
});

deviceTest("crossEntropy is stable for ±1e4 logits", async () => {
  const t = Int32Array.from([1, 0]);
  await checkOp({
    name: "xent large",
    inputs: [{ shape: [2, 3], data: [1e4, -1e4, 9999, -1e4, 1e4, 0] }],
    run: ([x]) => crossEntropy(x, t, { reduction: "sum" }),
    reference: ([x]) => crossEntropyReference(x, 3, t, { reduction: "sum" }),
    rtol: 1e-4,
    atol: 1e-3,
    eps: 1e-7,
  });
});

deviceTest("crossEntropy rejects out-of-range host targets", async () => {
  await initGpu();
  await tidyAsync(async () => {
    const x = Tensor.zeros([2, 3]);
    let msg = "";
    try {
      crossEntropy(x, Int32Array.from([0, 3]));
    } catch (e) {
      msg = String(e);
    }
    if (!msg.includes("outside [0, 3)")) throw new Error(`expected a range error, got "${msg}"`);
    await x.toArray();
  });
});
