/**
 * Streaming a model's weights onto a device (core/model/device_weights.ts): f16 storage computes the same logits as
 * f32 storage of the same (f16-rounded) values; vocabulary matrices above one buffer are stored in row blocks and
 * give bit-identical logits; what cannot be stored is refused before allocation, naming the tensor, its size and the
 * limit (also at llvmpipe's real 128 MiB binding).
 */
import assert from "node:assert/strict";
import { type Device, noGrad, Rng, Tensor, tidyAsync, withDevice } from "../../../core/runtime.ts";
import { parseVlmConfig, TINY_CONFIG, tinySpecialId, type VlmConfig } from "../../../core/model/config.ts";
import { initParameters, parameterShapes, type Weights } from "../../../core/model/init.ts";
import { VlmModel } from "../../../core/model/vlm.ts";
import { planDeviceWeights } from "../../../core/model/device_weights.ts";
import { mapWeightReader } from "../../../core/model/weight_reader.ts";
import { fromF16Bits, maxBufferBytes, toF16Bits } from "../../../core/tensor.ts";
import { TensorTooLargeError } from "../../../core/errors.ts";
import { assertClose, assertSameValues, initDevices } from "../ops/_check.ts";
import { GpuContext } from "../../../core/gpu/context.ts";

const c = TINY_CONFIG;

function prompt(config: VlmConfig, tokens: number): { inputIds: number[]; images: [] } {
  const rng = new Rng(4);
  const ids = [tinySpecialId("<|im_start|>")];
  for (let i = 0; i < tokens; i++) ids.push(Math.floor(rng.next() * config.vocab_size));
  return { inputIds: ids, images: [] };
}

/** Every matrix rounded to f16 (what f16 storage holds); 1-D tensors unchanged. */
function roundMatrices(config: VlmConfig, w: Weights): Weights {
  const shapes = parameterShapes(config);
  return new Map([...w].map(([n, v]) => [n, shapes.get(n)!.length >= 2 ? fromF16Bits(toF16Bits(v)) : v]));
}

async function logitsOf(m: VlmModel, input: { inputIds: number[]; images: [] }): Promise<Float32Array> {
  return await tidyAsync(async () => await noGrad(() => m.forward(input).logits!).toArray());
}

for (const device of ["wasm", "webgpu"] as Device[]) {
  Deno.test(`f16 weight storage gives the logits of f32 storage of the same values [${device}]`, async () => {
    await initDevices();
    await withDevice(device, async () => {
      const w = initParameters(c, 5);
      const input = prompt(c, 9);
      const ref = new VlmModel(c, roundMatrices(c, w));
      const half = await VlmModel.load(c, mapWeightReader(w, parameterShapes(c)), { dtype: "f16" });
      assert.equal(half.weightDType, "f16");
      assert.equal(half.p("model.layers.0.self_attn.q_proj.weight").dtype, "f16");
      assert.equal(half.p("model.layers.0.self_attn.q_proj.bias").dtype, "f32"); // 1-D stays f32
      assertClose("logits", await logitsOf(half, input), await logitsOf(ref, input), 1e-5, 1e-5);
      ref.dispose();
      half.dispose();
    });
  });

  Deno.test(`an embedding above the buffer limit is stored in row blocks with identical logits [${device}]`, async () => {
    await initDevices();
    await withDevice(device, async () => {
      // A vocabulary large enough that the (V, H) tables are the largest tensors, tied and untied.
      const big = { ...structuredClone(c), vocab_size: 5120 };
      for (const tie of [true, false]) {
        const config = parseVlmConfig({ ...big, tie_word_embeddings: tie });
        const w = initParameters(config, 6);
        const input = prompt(config, 12);
        for (const dtype of ["f32", "f16"] as const) {
          const reader = mapWeightReader(w, parameterShapes(config));
          const whole = await VlmModel.load(config, reader, { dtype });
          const E = parameterShapes(config).get("model.embed_tokens.weight")!;
          // A limit that splits the (V, H) table into 3 blocks (but fits every other tensor).
          const maxBytes = Math.ceil((E[0] * E[1] * (dtype === "f16" ? 2 : 4)) / 2.5);
          const split = await VlmModel.load(config, reader, { dtype, maxBytes });
          const rb = split.rowBlocks.get("model.embed_tokens.weight")!;
          assert.equal(rb.blocks.length, 3);
          assert.equal(split.rowBlocks.has("lm_head.weight"), !config.tie_word_embeddings);
          assertSameValues(`${dtype} logits`, await logitsOf(split, input), await logitsOf(whole, input));
          assertSameValues(
            `${dtype} embedding`,
            await split.downloadParam("model.embed_tokens.weight"),
            await whole.downloadParam("model.embed_tokens.weight"),
          );
          whole.dispose();
          split.dispose();
        }
      }
    });
  });
}

Deno.test("a tensor that cannot be split is refused before allocation, naming it, its size and the limit", async () => {
  await initDevices();
  const shapes = parameterShapes(c);
  // The largest tensor that is not a vocabulary table (those split by rows).
  const [name, shape] = [...shapes].filter(([n]) => !n.includes("embed_tokens") && !n.startsWith("lm_head"))
    .sort((a, b) => b[1].reduce((x, y) => x * y) - a[1].reduce((x, y) => x * y))[0];
  const bytes = shape.reduce((x, y) => x * y) * 4;
  assert.throws(
    () => planDeviceWeights(shapes, { dtype: "f32", device: "wasm", maxBytes: bytes - 1 }),
    (e: Error) =>
      e instanceof TensorTooLargeError && e.message.includes(`parameter ${name} [${shape}] (f32)`) &&
      e.message.includes(`${bytes} bytes`) && e.message.includes(`${bytes - 1} bytes`) && /--dtype f16/.test(e.message),
  );
  // The same tensor in f16 fits: half the bytes.
  planDeviceWeights(shapes, { dtype: "f16", device: "wasm", maxBytes: bytes - 1 });
  assert.throws(
    () => planDeviceWeights(shapes, { dtype: "f16", trainable: true, device: "wasm" }),
    /f16 storage is for frozen weights/,
  );
});

Deno.test("the 7B's f32 weights are refused on the WASM device before allocation; in f16 they plan", async () => {
  const config = parseVlmConfig(JSON.parse(await Deno.readTextFile("tests/fixtures/qwen2_5_vl_7b_config.json")));
  const shapes = parameterShapes(config);
  assert.throws(
    () => planDeviceWeights(shapes, { dtype: "f32", device: "wasm" }),
    (e: Error) =>
      e instanceof TensorTooLargeError && /the model's weights/.test(e.message) && /4\.29 GB/.test(e.message),
  );
  assert.throws(() => planDeviceWeights(shapes, { dtype: "f16", device: "wasm" }), /the model's weights/); // 16 GB
  const cut = parseVlmConfig({
    ...structuredClone(config),
    num_hidden_layers: 2,
    vision_config: { ...structuredClone(config.vision_config), depth: 2, fullatt_block_indexes: [1] },
  });
  const plan = planDeviceWeights(parameterShapes(cut), { dtype: "f16", device: "wasm" });
  assert.equal(plan.find((p) => p.name === "lm_head.weight")!.dtype, "f16");
});

Deno.test("on llvmpipe's real 128 MiB binding an embedding above it loads in row blocks and matches WASM", async () => {
  await initDevices();
  const limit = await withDevice("webgpu", () => maxBufferBytes("webgpu"));
  assert.ok(limit < 2 ** 31, `this test needs an adapter with a small binding limit (llvmpipe), got ${limit}`);
  // vocab × hidden × 4 bytes just above the limit; everything else tiny.
  const H = c.hidden_size;
  const V = Math.ceil(limit / (H * 4)) + 1000;
  const config = parseVlmConfig({
    ...structuredClone(c),
    vocab_size: V,
    num_hidden_layers: 1,
    tie_word_embeddings: true,
  });
  const w = initParameters(config, 2);
  const reader = mapWeightReader(w, parameterShapes(config));
  const input = { inputIds: [1, 5, V - 1, 77, V - 2000], images: [] as [] };
  const onWasm = await withDevice("wasm", async () => {
    const m = await VlmModel.load(config, reader, { dtype: "f32" });
    const l = await logitsOf(m, input);
    m.dispose();
    return l;
  });
  await withDevice("webgpu", async () => {
    const before = GpuContext.current().stats().liveBytes;
    const m = await VlmModel.load(config, reader, { dtype: "f32" });
    assert.equal(m.rowBlocks.get("model.embed_tokens.weight")!.blocks.length, 2);
    assertClose("logits webgpu vs wasm", await logitsOf(m, input), onWasm, 1e-4, 1e-4);
    m.dispose();
    // An activation above the limit is refused before allocation, naming its shape, size and the limit.
    const live = GpuContext.current().stats().liveBytes;
    assert.throws(
      () => Tensor.empty([300, V]),
      (e: Error) =>
        e instanceof TensorTooLargeError && e.message.includes(`[300,${V}] f32`) &&
        e.message.includes(`${300 * V * 4} bytes`) && e.message.includes(`${limit} bytes`),
    );
    assert.equal(GpuContext.current().stats().liveBytes, live);
    assert.ok(live <= before + 4096);
  });
});
