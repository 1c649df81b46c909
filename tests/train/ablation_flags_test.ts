/**
 * The model side of the ablation flags (issue 13 item 6): capture.attn is exactly the attention sublayer's o_proj
 * output at the visual tokens, heads with input "attention" are trained on it (gaspLoss reads it, not the block
 * output), and LoRA with `vision` adapts the vision blocks' attention (their forward goes through the hook) while
 * starting equal to the base.
 */
import assert from "node:assert/strict";
import { initGpu, noGrad, Rng, type Tensor } from "../../core/runtime.ts";
import * as op from "../../core/ops/mod.ts";
import { initParameters, parameterShapes } from "../../core/model/init.ts";
import { VlmModel } from "../../core/model/vlm.ts";
import { buildTinyTokenizerJson } from "../../core/text/build_tokenizer.ts";
import { TextTokenizer } from "../../core/text/tokenizer.ts";
import { GpuContext } from "../../core/gpu/context.ts";
import { createLoraAdapters, LoraHook, loraParams } from "../../train/lora.ts";
import { createHeads, headParams } from "../../train/correspondence_head.ts";
import { gaspLoss } from "../../train/gasp_loss.ts";
import { correspondenceSample } from "../../train/samples.ts";
import { resolveTrainConfig } from "../../train/config.ts";
import { TOY_CONFIG, toySequences } from "./_toy.ts";

await initGpu();
const c = TOY_CONFIG;
const tok = TextTokenizer.fromJson(buildTinyTokenizerJson(0));
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

Deno.test("capture.attn equals o_proj's output at the visual tokens and differs from the block output", async () => {
  const w = initParameters(c, 1);
  const model = new VlmModel(c, w);
  const s = correspondenceSample(c, tok, toySequences(1)[0], [0, 1, 2]);
  const out = noGrad(() => model.forward(s, { capture: { attn: true, hidden: true }, logits: false }));
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const attn = await out.layers[l].attn!.toArray();
    assert.deepEqual(out.layers[l].attn!.shape, [out.visualPositions.length, c.hidden_size]);
    const hidden = await out.layers[l].hidden!.toArray();
    assert.ok(maxAbsDiff(attn, hidden) > 1e-3, `layer ${l}: attn should not be the block output`);
  }
  // The exact value: o_proj(attention) recomputed through the hook, gathered at the visual rows.
  const rows = Int32Array.from(out.visualPositions);
  const ref = noGrad(() => {
    let got: Tensor | null = null;
    model.forward(s, {
      logits: false,
      linearHook: (name, _x, y) => {
        if (name === "model.layers.1.self_attn.o_proj") got = op.indexSelect(y, 0, rows);
        return y;
      },
    });
    return got!;
  });
  assert.ok(maxAbsDiff(await ref.toArray(), await out.layers[1].attn!.toArray()) < 1e-6);
  model.dispose();
});

Deno.test("heads with input attention: gaspLoss reads capture.attn (the block output does not enter)", async () => {
  const w = initParameters(c, 2);
  const model = new VlmModel(c, w);
  const s = correspondenceSample(c, tok, toySequences(1)[0], [0, 1, 2]);
  const cfg = resolveTrainConfig({ overrides: { head: { input: "attention" } } });
  const heads = createHeads(w, c.hidden_size, [0, 1], { ...cfg.head }, new Rng(3));
  assert.equal(heads.get(0)!.input, "attention");
  const out = noGrad(() => model.forward(s, { capture: { attn: true, hidden: true }, logits: false }));
  const loss = async (layers: typeof out.layers) =>
    await noGrad(() => gaspLoss({ layers }, { targets: null, corr: s.corr }, heads, { ...cfg.loss }).corr!).item();
  const real = await loss(out.layers);
  // Replacing the block output changes nothing; replacing the attention output changes the loss.
  const noHidden = out.layers.map((f) => ({ attn: f.attn, hidden: op.mulScalar(f.hidden!, 0) }));
  assert.equal(await loss(noHidden), real);
  const noAttn = out.layers.map((f) => ({ attn: op.mulScalar(f.attn!, 2), hidden: f.hidden }));
  assert.notEqual(await loss(noAttn), real);
  for (const t of headParams(heads)) t.dispose();
  model.dispose();
});

Deno.test("LoRA vision: adapters on every vision block's attn.qkv and attn.proj, zero at init, reached by the forward", async () => {
  const w = initParameters(c, 4);
  const setup = { rank: 2, alpha: 4, dropout: 0, targets: ["q", "v"] as ("q" | "v")[], vision: true };
  const ads = createLoraAdapters(w, parameterShapes(c), [0, 1], setup, new Rng(5), c.vision_config.depth);
  const visual = [...ads.keys()].filter((k) => k.startsWith("visual."));
  assert.equal(visual.length, 2 * c.vision_config.depth);
  assert.ok(ads.has(`visual.blocks.${c.vision_config.depth - 1}.attn.proj`));
  // The LLM adapters' init does not depend on the vision ones (they are drawn last).
  const llmOnly = createLoraAdapters(w, parameterShapes(c), [0, 1], { ...setup, vision: false }, new Rng(5));
  const a0 = "model.layers.1.self_attn.v_proj";
  assert.deepEqual(await ads.get(a0)!.A.toArray(), await llmOnly.get(a0)!.A.toArray());
  const model = new VlmModel(c, w);
  const s = correspondenceSample(c, tok, toySequences(1)[0], [0, 1]);
  const hook = new LoraHook(ads, setup, null);
  const plain = await noGrad(() => model.forward(s).logits!).toArray();
  const atInit = await noGrad(() => model.forward(s, { linearHook: hook.hook }).logits!).toArray();
  assert.equal(maxAbsDiff(plain, atInit), 0);
  // Give only the vision adapters a B: the logits change, so the vision forward goes through the hook.
  const rng = new Rng(6);
  for (const k of visual) {
    const B = ads.get(k)!.B;
    GpuContext.current().write(B.buffer, Float32Array.from({ length: B.size }, () => 0.1 * rng.normal()));
  }
  const moved = await noGrad(() => model.forward(s, { linearHook: hook.hook }).logits!).toArray();
  assert.ok(maxAbsDiff(plain, moved) > 1e-4, "vision LoRA should change the logits");
  for (const t of [...loraParams(ads), ...loraParams(llmOnly)]) t.dispose();
  model.dispose();
});
