import assert from "node:assert/strict";
import { join } from "node:path";
import { loadModelFeatureSources } from "../../../core/analysis/load_model_features.ts";
import { modelFeatureSources } from "../../../core/analysis/model_features.ts";
import { initGpu } from "../../../core/runtime.ts";
import { toySequences } from "../../train/_toy.ts";
import { makeToyRuns } from "../model/folder/_runs.ts";
import { assertClose } from "../ops/_check.ts";

await initGpu();

Deno.test("a step checkpoint loaded from disk gives the Q/K features of the in-memory model with its LoRA hook", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const runs = await makeToyRuns(dir);
    const g = runs.gaspResult;
    const [seq] = toySequences(1, 3, 9);
    const loaded = await loadModelFeatureSources(join(runs.gasp, "step-000001"));
    const [fromDisk, centred] = loaded.qk;
    assert.equal(centred.name, "gasp@step-000001 Q/K centred");
    const [inMemory] = modelFeatureSources(g.model, g.tokenizer, { name: "mem", linearHook: g.evalHook!.hook });
    const [plainBase] = modelFeatureSources(g.model, g.tokenizer, { name: "base" });
    assert.equal(fromDisk.name, "gasp@step-000001 Q/K");
    const a = await fromDisk.features(seq), b = await inMemory.features(seq), c = await plainBase.features(seq);
    assert.deepEqual([a.q.length, a.q[0].length], [2, 3 * 4 * a.dim]); // 2 layers, F·P tokens × dim
    let delta = 0;
    for (let l = 0; l < 2; l++) {
      assertClose(`layer ${l} q`, a.q[l], b.q[l], 1e-4, 1e-4);
      assertClose(`layer ${l} k`, a.k[l], b.k[l], 1e-4, 1e-4);
      for (let i = 0; i < a.q[l].length; i++) delta = Math.max(delta, Math.abs(a.q[l][i] - c.q[l][i]));
    }
    assert.ok(delta > 1e-4, `the adapters should change Q (max change ${delta})`);
    loaded.dispose();
    for (const r of [g, runs.baseRunResult]) r.model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
