import assert from "node:assert/strict";
import { initGpu, noGrad, Rng, Tensor } from "../../core/runtime.ts";
import { TINY_CONFIG } from "../../core/model/config.ts";
import { initParameters } from "../../core/model/init.ts";
import { correspondenceHeadForward, initHeadsFromWeights } from "../../train/correspondence_head.ts";
import { createHeads, headForward, headParams } from "../../train/heads.ts";
import { assertClose } from "../core/ops/_check.ts";

await initGpu();

for (const shape of ["app-b", "sec-4"] as const) {
  Deno.test(`GPU ${shape} head is SVD-initialised like the f64 reference and its forward matches it`, async () => {
    const w = initParameters(TINY_CONFIG, 3);
    const d = TINY_CONFIG.hidden_size;
    const gpu = createHeads(w, d, [1, 2], { shape, dEmb: 32, gelu: "erf" }, new Rng(5));
    const ref = initHeadsFromWeights(w, d, [1, 2], { shape, dEmb: 32, rng: new Rng(5) });
    assert.deepEqual([...gpu.keys()], [1, 2]);
    assert.equal(headParams(gpu)[0].name, "correspondence_heads.1.fc1.weight");
    const rng = new Rng(9);
    const x = Float64Array.from({ length: 10 * d }, () => 3 * rng.normal());
    for (const l of [1, 2]) {
      const want = correspondenceHeadForward(ref.get(l)!, { rows: 10, cols: d, data: x }).out;
      const got = await noGrad(() => headForward(gpu.get(l)!, Tensor.from(Float32Array.from(x), [10, d]))).toArray();
      assertClose(`layer ${l} head output`, got, want.data, 1e-4, 1e-4);
    }
  });
}
