import assert from "node:assert/strict";
import { backward, initGpu, noGrad, Rng, tidyAsync, zeroGrad } from "../../core/runtime.ts";
import { TINY_CONFIG, tinySpecialId } from "../../core/model/config.ts";
import { initParameters } from "../../core/model/init.ts";
import { VlmModel } from "../../core/model/vlm.ts";
import { IGNORE_INDEX, lmLoss, lmLossRows } from "../../train/losses.ts";
import { assertClose } from "../core/ops/_check.ts";

const c = TINY_CONFIG;

Deno.test("logits at the loss's rows only: same rows, same L_LM and the same gradient as the full (T, V) logits", async () => {
  await initGpu();
  const rng = new Rng(3);
  const ids = [tinySpecialId("<|im_start|>"), ...Array.from({ length: 13 }, () => rng.int(500))];
  const targets = new Int32Array(ids.length).fill(IGNORE_INDEX);
  for (const i of [5, 6, 7, 12]) targets[i] = rng.int(600);
  const r = lmLossRows(targets);
  assert.deepEqual([...r.rows], [5, 6, 7, 12]);
  assert.deepEqual([...r.targets], [5, 6, 7, 12].map((i) => targets[i]));
  const model = new VlmModel(c, initParameters(c, 2), { trainable: true });
  try {
    const run = async (rows: boolean) => {
      return await tidyAsync(async () => {
        const out = model.forward({ inputIds: ids }, { logits: rows ? r.rows : true });
        const loss = rows ? lmLoss(out.logits!, r.targets) : lmLoss(out.logits!, targets);
        backward(loss);
        const g = await model.p("model.layers.1.self_attn.q_proj.weight").grad!.toArray();
        const result = { loss: await loss.item(), grad: Float32Array.from(g), logits: await out.logits!.toArray() };
        zeroGrad(model.params.values());
        return result;
      });
    };
    const full = await run(false), rows = await run(true);
    assertClose("L_LM", [rows.loss], [full.loss], 1e-6, 1e-7);
    assertClose("dL/dW_Q of layer 1", rows.grad, full.grad, 1e-4, 1e-7);
    const V = c.vocab_size;
    r.rows.forEach((t, k) => {
      assertClose(
        `row ${t}`,
        rows.logits.subarray(k * V, (k + 1) * V),
        full.logits.subarray(t * V, (t + 1) * V),
        1e-5,
        1e-6,
      );
    });
    const none = noGrad(() => model.forward({ inputIds: ids }, { logits: Int32Array.of() }));
    assert.deepEqual(none.logits!.shape, [0, V]);
  } finally {
    model.dispose();
  }
});
