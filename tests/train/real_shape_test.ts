/**
 * Issue 16 item 8, CI-sized: a generated random-weight folder at true Qwen2.5-VL-3B widths (2 LLM layers, 2 vision
 * blocks, bf16, 2 shards, new key layout, tied embeddings, the real tokenizer.json; tests/fixtures/
 * real_shape_checkpoint.ts) streams onto the WASM device in f16, trains GASP steps with finite losses, writes the
 * PEFT adapter and the merged HF folder, and that folder reloads with logits identical to the base with the same
 * LoRA folded in and rounded to its bf16 storage; resuming the run restores the heads without recomputing their SVD.
 * Lean on purpose: two 2-frame 56² sequences (a few dozen tokens), no PCK pass; `tools/real_shape/run.sh` is the
 * full-size acceptance run.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { initDevice } from "../../core/device_init.ts";
import { noGrad, tidyAsync } from "../../core/runtime.ts";
import { decodeSafetensors } from "../../core/io/safetensors.ts";
import { bf16ToF32, f32ToBf16 } from "../../core/io/half.ts";
import { openHfWeights } from "../../core/model/hf_weights.ts";
import { foldLora } from "../../core/model/hf_export.ts";
import { type LinearHook, VlmModel } from "../../core/model/vlm.ts";
import type { WeightReader } from "../../core/model/weight_reader.ts";
import { encodePrompt, imagesThenText } from "../../core/model/processing.ts";
import { TextTokenizer } from "../../core/text/tokenizer.ts";
import { resolveTrainConfig } from "../../train/config.ts";
import { train } from "../../train/loop.ts";
import { headParams } from "../../train/correspondence_head.ts";
import { writeRealShapeCheckpoint } from "../fixtures/real_shape_checkpoint.ts";
import { toySequences } from "./_toy.ts";
import { assertSameValues } from "../core/ops/_check.ts";

type HostAdapter = { A: Float32Array; B: Float32Array; rank: number };

/** `base` with each adapter folded in (W + scale·B·A) and rounded to bf16, what the merged export stores. */
function foldedBf16(base: WeightReader, adapters: Map<string, HostAdapter>, scale: number): WeightReader {
  const read = async (name: string) => {
    const w = await base.read(name);
    const ad = adapters.get(name);
    return bf16ToF32(f32ToBf16(ad ? foldLora(w, ad, scale, name) : w));
  };
  return {
    ...base,
    read,
    async *chunks(name: string, maxElems: number) {
      const v = await read(name);
      for (let i = 0; i < v.length; i += maxElems) yield { offset: i, values: v.subarray(i, i + maxElems) };
    },
  };
}

Deno.test({
  name:
    "a 3B-width bf16 folder trains a GASP step, resumes without SVD, exports PEFT + merged HF folder that reloads to identical logits",
  // The WASM device's workers outlive the test (one device per process).
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await initDevice({ device: "wasm" });
    const dir = await Deno.makeTempDir({ prefix: "gasp-real-shape-" });
    try {
      const ck = await writeRealShapeCheckpoint(join(dir, "model"));
      const out = join(dir, "run");
      // Two steps: the first, stopped, then a resume for the second (the heads come from the checkpoint: no SVD).
      const config = resolveTrainConfig({
        overrides: { steps: 2, batch: 2, data: { framesPerItem: 2 }, lora: { rank: 4 } },
      });
      const logs: string[] = [], resumedLogs: string[] = [];
      const common = { out, baseDir: ck.dir, sequences: toySequences(2, 2), plot: false };
      const first = await train(config, { ...common, maxSteps: 1, log: (l) => logs.push(l) });
      assert.equal(first.step, 1);
      first.model.dispose();
      for (const t of [...headParams(first.heads), ...[...first.lora.values()].flatMap((a) => [a.A, a.B])]) t.dispose();
      const r = await train(config, { ...common, resume: out, log: (l) => resumedLogs.push(l) });
      // Finite losses, base stored f16, SVD heads on both layers once, restored (not recomputed) on resume.
      assert.equal(r.step, 2);
      for (const loss of [first.history[0].loss, r.history[0].loss]) {
        for (const k of ["total", "lm", "corr", "depth"] as const) {
          assert(Number.isFinite(loss[k]), `${k} ${loss[k]}`);
        }
        assert(loss.lm > 0 && loss.corr > 0, JSON.stringify(loss));
      }
      assert(logs.some((l) => l.includes("matrices stored f16")), logs.join("\n"));
      assert(logs.some((l) => /correspondence heads \(2 layers\): SVD init/.test(l)), logs.join("\n"));
      assert(resumedLogs.some((l) => /restored from the checkpoint, SVD of W_Q not recomputed/.test(l)));
      assert(!resumedLogs.some((l) => /SVD init/.test(l)), resumedLogs.join("\n"));

      // PEFT adapter (new key layout), heads apart, merged HF folder with the base's side files.
      const adapterConfig = JSON.parse(await Deno.readTextFile(join(out, "adapter_config.json")));
      assert.deepEqual([adapterConfig.peft_type, adapterConfig.r], ["LORA", 4]);
      const adapter = decodeSafetensors(await Deno.readFile(join(out, "adapter_model.safetensors")), "adapter");
      assert(adapter.tensors.has("base_model.model.model.language_model.layers.1.self_attn.v_proj.lora_B.weight"));
      assert.equal(adapter.tensors.size, 2 * 4 * 2); // 2 layers × q, k, v, o × A, B
      assert(existsSync(join(out, "heads.safetensors")));
      const exportDir = join(out, "export");
      for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json"]) {
        assert.deepEqual(await Deno.readFile(join(exportDir, f)), await Deno.readFile(join(ck.dir, f)), f);
      }

      // Logits of the trained model (base + LoRA) on an image prompt, then free it.
      const tok = TextTokenizer.fromJson(await Deno.readTextFile(join(ck.dir, "tokenizer.json")));
      const seq = toySequences(1, 1, 7)[0];
      const frames = seq.frames.map((f) => ({ width: f.width, height: f.height, data: f.rgb }));
      const input = encodePrompt(ck.config, tok, imagesThenText(frames, "What is in the image?"));
      const logits = (m: VlmModel, hook?: LinearHook) =>
        tidyAsync(async () =>
          await noGrad(() => m.forward(input, { linearHook: hook, logits: "last" }).logits!).toArray()
        );
      const trained = await logits(r.model, r.evalHook!.hook);
      const scale = config.lora.alpha / config.lora.rank;
      const adapters = new Map<string, HostAdapter>();
      for (const ad of r.lora.values()) {
        adapters.set(`${ad.module}.weight`, { A: await ad.A.toArray(), B: await ad.B.toArray(), rank: ad.A.shape[0] });
      }
      r.model.dispose();
      for (const t of [...headParams(r.heads), ...[...r.lora.values()].flatMap((a) => [a.A, a.B])]) t.dispose();

      // The merged folder, reloaded, against the base with the same LoRA folded in and rounded to bf16.
      const exported = await openHfWeights(exportDir, ck.config);
      const base = await openHfWeights(ck.dir, ck.config);
      try {
        assert.deepEqual([exported.layout, exported.storedDType], ["language-model", "BF16"]);
        const a = await VlmModel.load(ck.config, exported, { dtype: "f16" });
        const fromExport = await logits(a);
        a.dispose();
        const b = await VlmModel.load(ck.config, foldedBf16(base, adapters, scale), { dtype: "f16" });
        const fromFold = await logits(b);
        b.dispose();
        assertSameValues("merged export reload vs in-memory fold", fromExport, fromFold);
        // And it is the trained model up to bf16 rounding of the merged weights.
        let worst = 0, peak = 0;
        for (let i = 0; i < trained.length; i++) {
          worst = Math.max(worst, Math.abs(fromExport[i] - trained[i]));
          peak = Math.max(peak, Math.abs(trained[i]));
        }
        assert(worst < 2e-2 * peak, `merged vs trained: max |Δ| ${worst} of max |logit| ${peak}`);
      } finally {
        exported.close();
        base.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
