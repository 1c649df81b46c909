import assert from "node:assert/strict";
import { initGpu, noGrad, Rng } from "../../core/runtime.ts";
import { initParameters, parameterShapes } from "../../core/model/init.ts";
import { VlmModel } from "../../core/model/vlm.ts";
import { buildTinyTokenizerJson } from "../../core/text/build_tokenizer.ts";
import { TextTokenizer } from "../../core/text/tokenizer.ts";
import { TINY_CONFIG } from "../../core/model/config.ts";
import {
  baseWeightName,
  createLoraAdapters,
  LoraHook,
  loraParamNames,
  loraParams,
  mergeLoraIntoWeights,
} from "../../train/lora.ts";
import { correspondenceSample } from "../../train/samples.ts";
import { TOY_CONFIG, toySequences } from "./_toy.ts";
import { GpuContext } from "../../core/gpu/context.ts";

await initGpu();

Deno.test("merged LoRA weights give the same logits as base + unmerged adapters (≤ 1e-4)", async () => {
  const c = TOY_CONFIG;
  const w = initParameters(c, 1);
  const setup = { rank: 4, alpha: 8, dropout: 0.1, targets: ["q", "k", "v", "o"] as ("q" | "k" | "v" | "o")[] };
  const adapters = createLoraAdapters(w, parameterShapes(c), [0, 1], setup, new Rng(2));
  assert.equal(
    adapters.get("model.layers.1.self_attn.o_proj")!.A.name,
    "model.layers.1.self_attn.o_proj.lora_A.weight",
  );
  // B starts at 0 (PEFT); give it values so the adapters matter.
  const rng = new Rng(3);
  for (const ad of adapters.values()) {
    GpuContext.current().write(ad.B.buffer, Float32Array.from({ length: ad.B.size }, () => 0.05 * rng.normal()));
  }
  const tok = TextTokenizer.fromJson(buildTinyTokenizerJson(0));
  const s = correspondenceSample(c, tok, toySequences(1)[0], [0, 1, 2]);
  const base = new VlmModel(c, w);
  const hook = new LoraHook(adapters, setup, null); // evaluation: no dropout
  const unmerged = await noGrad(() => base.forward(s, { linearHook: hook.hook }).logits!).toArray();
  const plain = await noGrad(() => base.forward(s).logits!).toArray();
  const merged = new VlmModel(c, await mergeLoraIntoWeights(w, adapters, setup));
  const got = await noGrad(() => merged.forward(s).logits!).toArray();
  let maxErr = 0, maxDelta = 0;
  for (let i = 0; i < got.length; i++) {
    maxErr = Math.max(maxErr, Math.abs(got[i] - unmerged[i]));
    maxDelta = Math.max(maxDelta, Math.abs(plain[i] - unmerged[i]));
  }
  assert.ok(maxDelta > 1e-2, `adapters should change the logits (max change ${maxDelta})`);
  assert.ok(maxErr <= 1e-4, `merged vs unmerged logits differ by ${maxErr}`);
  base.dispose();
  merged.dispose();
});

Deno.test("LoRA parameter names follow PEFT under the HF module path", () => {
  assert.equal(baseWeightName(2, "o"), "model.layers.2.self_attn.o_proj.weight");
  assert.deepEqual(loraParamNames(0, "q"), {
    A: "model.layers.0.self_attn.q_proj.lora_A.weight",
    B: "model.layers.0.self_attn.q_proj.lora_B.weight",
  });
});

Deno.test("createLoraAdapters makes one zero-output adapter per (layer, target) with the base weight's shape", async () => {
  const w = initParameters(TINY_CONFIG, 0);
  const setup = { rank: 4, alpha: 8, dropout: 0, targets: ["q", "k", "v", "o"] as ("q" | "k" | "v" | "o")[] };
  const ads = createLoraAdapters(w, parameterShapes(TINY_CONFIG), [0, 3], setup, new Rng(1));
  assert.equal(ads.size, 8);
  const k = ads.get("model.layers.3.self_attn.k_proj")!;
  assert.deepEqual([k.A.shape, k.B.shape], [[4, 128], [64, 4]]); // 2 kv heads × 32
  assert((await k.B.toArray()).every((v) => v === 0));
  const A = await k.A.toArray();
  assert(A.every((a) => Math.abs(a) <= 1 / Math.sqrt(128)) && A.some((a) => a !== 0));
  for (const t of loraParams(ads)) t.dispose();
});
