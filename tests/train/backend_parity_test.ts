/**
 * One GASP training step on the WASM device and on WebGPU: the same base model, items, dropout masks and
 * optimiser must give the same losses (L_LM, L_corr, L_depth, L_total, Eq 9) and the same gradient of every
 * trainable parameter (LoRA A/B and correspondence heads), within float tolerances (FMA is fused on one device and
 * the kernels sum in different orders, so not bit for bit).
 *
 * The gradients are read through the public train(): with lr = 1, eps = 1, no weight decay, no clipping and no
 * warmup, step 1 of AdamW moves each weight by Δ = −g / (|g| + 1) (bias-corrected moments m̂ = g, v̂ = g²), so
 * g = −Δ / (1 − |Δ|), and the initial weights come from a run with a vanishing learning rate.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Device, initGpu, withDevice } from "../../core/runtime.ts";
import { initWasm } from "../../core/device_init.ts";
import { initParameters } from "../../core/model/init.ts";
import { buildTinyTokenizerJson } from "../../core/text/build_tokenizer.ts";
import { resolveTrainConfig } from "../../train/config.ts";
import { train } from "../../train/loop.ts";
import { writeModelFolder } from "../../core/model/folder/model_folder.ts";
import { loraParams } from "../../train/lora.ts";
import { headParams } from "../../train/correspondence_head.ts";
import { TOY_CONFIG, toySequences } from "./_toy.ts";

const sequences = toySequences(2, 3);

function stepConfig(lr: number) {
  return resolveTrainConfig({
    preset: "full",
    overrides: {
      steps: 1,
      batch: 2,
      checkpointEvery: 1,
      lora: { rank: 4, alpha: 8, dropout: 0.1 },
      head: { layers: "all" },
      data: { framesPerItem: 3, generalQaFraction: 0.5 },
      optim: { lr, eps: 1, weightDecay: 0, headLrMultiplier: 1, clip: 1e9, warmupFraction: 0, minLrRatio: 0 },
    },
  });
}

interface StepResult {
  loss: { total: number; lm: number; corr: number; depth: number };
  gradNorm: number;
  weights: Map<string, Float32Array>;
}

async function oneStep(device: Device, lr: number, dir: string, baseDir: string): Promise<StepResult> {
  return await withDevice(device, async () => {
    const out = join(dir, `${device}-${lr}`);
    const r = await train(stepConfig(lr), { sequences, baseDir, log: () => {}, out, exportModel: false, plot: false });
    const weights = new Map<string, Float32Array>();
    assert.equal(r.model.params.values().next().value!.device, device);
    for (const t of [...loraParams(r.lora), ...headParams(r.heads)]) weights.set(t.name, await t.toArray());
    r.model.dispose();
    return { loss: r.history[0].loss, gradNorm: r.history[0].gradNorm, weights };
  });
}

Deno.test("a GASP step on the WASM device matches WebGPU: losses within 1e-4, every gradient within 1e-3", async () => {
  await initGpu();
  await initWasm();
  const dir = await Deno.makeTempDir();
  try {
    const baseDir = join(dir, "base");
    const tokenizerJson = buildTinyTokenizerJson(0);
    await writeModelFolder(baseDir, { config: TOY_CONFIG, weights: initParameters(TOY_CONFIG, 0), tokenizerJson });
    const start = await oneStep("wasm", 1e-30, dir, baseDir); // the initial weights (a 1e-30 step changes no f32)
    const gpu = await oneStep("webgpu", 1, dir, baseDir);
    const cpu = await oneStep("wasm", 1, dir, baseDir);

    for (const k of ["lm", "corr", "depth", "total"] as const) {
      assert.ok(gpu.loss[k] > 0, `L_${k} is part of the step`);
      assert.ok(
        Math.abs(gpu.loss[k] - cpu.loss[k]) <= 1e-4 * Math.max(1, gpu.loss[k]),
        `L_${k}: ${gpu.loss[k]} vs ${cpu.loss[k]}`,
      );
    }
    assert.ok(Math.abs(gpu.gradNorm - cpu.gradNorm) <= 1e-3 * gpu.gradNorm, `‖g‖: ${gpu.gradNorm} vs ${cpu.gradNorm}`);

    const grad = (w: Float32Array, w0: Float32Array) =>
      Float64Array.from(w, (v, i) => {
        const d = v - w0[i];
        return -d / (1 - Math.abs(d));
      });
    let compared = 0, nonzero = 0;
    for (const [name, w0] of start.weights) {
      const gg = grad(gpu.weights.get(name)!, w0), gc = grad(cpu.weights.get(name)!, w0);
      const scale = Math.max(...gg.map(Math.abs));
      if (scale > 0) nonzero++;
      for (let i = 0; i < gg.length; i++) {
        const err = Math.abs(gg[i] - gc[i]);
        if (err > 1e-3 * scale + 1e-2 * Math.abs(gg[i]) + 1e-7) {
          throw new Error(
            `${name}[${i}]: WebGPU gradient ${gg[i]}, WASM ${gc[i]} (largest |g| of the tensor ${scale})`,
          );
        }
      }
      compared++;
    }
    assert.ok(compared >= 8 && nonzero >= compared / 2, `${compared} parameters compared, ${nonzero} with a gradient`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
