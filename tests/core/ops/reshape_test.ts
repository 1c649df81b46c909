import assert from "node:assert/strict";
import { exp, reshape, reshapeReference, Tensor } from "../../../core/runtime.ts";
import { checkOp, deviceTest } from "./_check.ts";

deviceTest("reshape is a view whose gradient flows back in the input's shape", async () => {
  for (const [from, to] of [[[6], [2, 3]], [[2, 3, 4], [4, -1]], [[1], [1, 1, 1]], [[5, 7], [35]]] as const) {
    await checkOp({
      name: `reshape [${from}] -> [${to}]`,
      inputs: [{ shape: [...from] }],
      // exp after the reshape so the gradient differs per element (a wrong element order would show)
      run: ([x]) => exp(reshape(x, to)),
      reference: ([x]) => reshapeReference(x).map(Math.exp),
    });
  }
});

deviceTest("reshape rejects a shape of a different size", async () => {
  await import("../../../core/runtime.ts").then((m) => m.initGpu());
  const x = Tensor.from([1, 2, 3, 4, 5, 6], [6]);
  assert.throws(() => reshape(x, [4, 2]), /shape mismatch/);
  assert.throws(() => reshape(x, [4, -1]), /shape mismatch/);
  x.dispose();
});
