import assert from "node:assert/strict";
import { join } from "node:path";
import { parseVlmConfig, TINY_CONFIG } from "../../core/model/config.ts";
import { numel, parameterShapes } from "../../core/model/init.ts";
import { formatTrainPlan, planTraining, WGPU_BINDING_CAP } from "../../core/model/train_plan.ts";
import { Rng } from "../../core/random.ts";
import { resolveTrainConfig } from "../../train/config.ts";
import { headDims } from "../../train/correspondence_head.ts";
import { initLoraAdapter } from "../../train/reference/lora.ts";
import { baseWeightName } from "../../train/lora.ts";
import { PLAN_DEVICES, planRun, planSettings } from "../../train/plan.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const fixture = (name: string) =>
  parseVlmConfig(JSON.parse(Deno.readTextFileSync(new URL(`../fixtures/${name}`, import.meta.url))));

Deno.test("plan counts the parameters the trainer creates: base, LoRA adapters and heads of the tiny run", () => {
  const cfg = resolveTrainConfig();
  const plan = planRun(cfg, TINY_CONFIG);
  const shapes = parameterShapes(TINY_CONFIG);
  assert.equal(plan.parameters.total, [...shapes.values()].reduce((a, s) => a + numel(s), 0));
  // The LoRA init (train/reference/lora.ts) on each target's HF weight shape.
  const layers = [...Array(TINY_CONFIG.num_hidden_layers).keys()];
  let loraCount = 0;
  for (const l of layers) {
    for (const t of cfg.lora.targets) {
      const [out, inF] = shapes.get(baseWeightName(l, t))!;
      const ad = initLoraAdapter(inF, out, { ...cfg.lora }, new Rng(0));
      loraCount += ad.A.data.length + ad.B.data.length;
    }
  }
  assert.equal(plan.parameters.lora, loraCount);
  const d = headDims(cfg.head.shape, TINY_CONFIG.hidden_size, cfg.head.dEmb);
  assert.equal(plan.parameters.heads, layers.length * (d.hidden * d.dModel + d.hidden + d.out * d.hidden + d.out));
  assert.equal(plan.parameters.trainable, loraCount + plan.parameters.heads);
  assert.equal(plan.bytes.trainableState, 16 * plan.parameters.trainable, "values, grads, m, v in f32");
  assert(plan.bytes.activations.withCheckpointing < plan.bytes.activations.withoutCheckpointing);
  for (const dev of plan.devices) assert(dev.fits, `${dev.device.name}: ${dev.problems}`);
});

Deno.test("plan for Qwen2.5-VL-7B in f32: embed_tokens and lm_head (2.03 GiB) split under the 2 GiB - 1 cap", () => {
  const c7 = fixture("qwen2_5_vl_7b_config.json");
  const cfg = resolveTrainConfig({ overrides: { dtype: "f32", lora: { rank: 128, alpha: 256 } } });
  const hw = { name: "wgpu", maxBindingBytes: WGPU_BINDING_CAP, f16: true };
  const plan = planTraining(c7, planSettings(cfg, c7), [hw]);
  const dev = plan.devices[0];
  assert.equal(plan.parameters.total, [...parameterShapes(c7).values()].reduce((a, s) => a + numel(s), 0));
  const embed = dev.buffers.find((b) => b.name === "model.embed_tokens.weight")!;
  assert.equal(embed.bytes, 152064 * 3584 * 4);
  assert(embed.bytes > WGPU_BINDING_CAP, "whole, it is above the cap");
  assert.equal(embed.blocks, 2);
  assert.equal(dev.largestWhole.bytes, embed.bytes);
  for (const b of dev.buffers) assert(b.blockBytes <= WGPU_BINDING_CAP, `${b.name}: ${b.blockBytes}`);
  assert(dev.fits, dev.problems.join("; "));
  assert.equal(dev.weightBytes, plan.parameters.total * 4);
  // Without splitting support for a tensor, the plan names it: a 1-row limit smaller than one embedding row.
  const tiny = planTraining(c7, planSettings(cfg, c7), [{ name: "toy", maxBindingBytes: 10_000, f16: false }]);
  assert(!tiny.devices[0].fits);
  assert.match(tiny.devices[0].problems.join("\n"), /model\.embed_tokens\.weight: .* one row \(14\.00 KiB\) alone/);
});

Deno.test("--dtype auto keeps a bf16 checkpoint in f16 on every device, an f32 one f32; wasm32 cannot hold 7B", () => {
  const c7 = fixture("qwen2_5_vl_7b_config.json");
  const plan = planRun(resolveTrainConfig(), c7, PLAN_DEVICES);
  const [hw, llvm, wasm] = plan.devices;
  assert.deepEqual([hw.dtype, llvm.dtype, wasm.dtype], ["f16", "f16", "f16"]);
  const f32Stored = parseVlmConfig({ ...structuredClone(c7), torch_dtype: "float32" });
  const plan32 = planRun(resolveTrainConfig(), f32Stored, PLAN_DEVICES);
  assert.equal(plan32.devices[0].dtype, "f32");
  assert.equal(hw.weightBytes * 2, plan32.devices[0].weightBytes);
  const forced = planRun(resolveTrainConfig({ overrides: { dtype: "f32" } }), c7, PLAN_DEVICES);
  assert.equal(forced.devices[1].dtype, "f32");
  assert(!wasm.fits && /total .* above the device's 4\.00 GiB/.test(wasm.problems.join("\n")));
  const lines = formatTrainPlan(plan, planSettings(resolveTrainConfig(), c7));
  assert.match(lines[0], /^parameters: 8\.29 B base/);
});

Deno.test("deno task train --plan --model DIR prints the plan from DIR/config.json and allocates nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.copyFile(new URL("../fixtures/qwen2_5_vl_7b_config.json", import.meta.url), join(dir, "config.json"));
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        join(ROOT, "tasks/train.ts"),
        "--plan",
        "--model",
        dir,
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(stdout, /parameters: 8\.29 B base/);
    assert.match(stdout, /webgpu \(hardware, wgpu cap\) .* fits/);
    assert.match(stdout, /nothing was allocated/);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["config.json"], "no files written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
