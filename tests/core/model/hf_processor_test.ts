import assert from "node:assert/strict";
import { join } from "node:path";
import { DataFormatError } from "../../../core/errors.ts";
import { parseVlmConfig } from "../../../core/model/config.ts";
import { readHfProcessorConfig } from "../../../core/model/hf_processor.ts";
import {
  QWEN2_5_VL_CHAT_TEMPLATE,
  QWEN2_5_VL_PREPROCESSOR_CONFIG,
  QWEN2_5_VL_TOKENIZER_CONFIG,
  realShapeConfigJson,
} from "../../fixtures/real_shape_checkpoint.ts";

const config = parseVlmConfig(realShapeConfigJson());

async function folder(files: Record<string, unknown>, fn: (dir: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, body] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, name), typeof body === "string" ? body : JSON.stringify(body));
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("Qwen2.5-VL's tokenizer_config and preprocessor_config give the chat template, pixels and mean/std", async () => {
  await folder({
    "tokenizer_config.json": QWEN2_5_VL_TOKENIZER_CONFIG,
    "preprocessor_config.json": QWEN2_5_VL_PREPROCESSOR_CONFIG,
  }, (dir) => {
    const p = readHfProcessorConfig(dir, config);
    assert.equal(p.chatTemplate, QWEN2_5_VL_CHAT_TEMPLATE);
    assert.equal(p.eosToken, "<|im_end|>");
    assert.equal(p.padToken, "<|endoftext|>");
    assert.deepEqual([p.minPixels, p.maxPixels], [3136, 12845056]);
    assert.deepEqual(p.imageMean, [0.48145466, 0.4578275, 0.40821073]);
    assert.deepEqual(p.imageStd, [0.26862954, 0.26130258, 0.27577711]);
  });
});

Deno.test("chat_template.json wins, template lists pick 'default', size{} spells the pixel limits, absent files default", async () => {
  await folder({
    "chat_template.json": { chat_template: "{{ x }}" },
    "tokenizer_config.json": { chat_template: "ignored", eos_token: { content: "<|im_end|>", special: true } },
    "preprocessor_config.json": { size: { shortest_edge: 1000, longest_edge: 2000 } },
  }, (dir) => {
    const p = readHfProcessorConfig(dir, config);
    assert.equal(p.chatTemplate, "{{ x }}");
    assert.deepEqual([p.minPixels, p.maxPixels], [1000, 2000]);
  });
  await folder({
    "tokenizer_config.json": {
      chat_template: [{ name: "tool_use", template: "t" }, { name: "default", template: "d" }],
    },
  }, (dir) => {
    assert.equal(readHfProcessorConfig(dir, config).chatTemplate, "d");
  });
  await folder({}, (dir) => {
    const p = readHfProcessorConfig(dir, config);
    assert.equal(p.chatTemplate, null);
    assert.deepEqual([p.minPixels, p.maxPixels, p.patchSize], [3136, 12845056, 14]);
  });
});

Deno.test("a processor that disagrees with config.json or has a wrong type is a DataFormatError naming the field", async () => {
  const err = (re: RegExp) => (e: unknown) => e instanceof DataFormatError && re.test(e.message);
  await folder({ "preprocessor_config.json": { ...QWEN2_5_VL_PREPROCESSOR_CONFIG, patch_size: 16 } }, (dir) => {
    assert.throws(
      () => readHfProcessorConfig(dir, config),
      err(/preprocessor_config\.json: field patch_size: expected 14/),
    );
  });
  await folder({ "preprocessor_config.json": { max_pixels: "big" } }, (dir) => {
    assert.throws(() => readHfProcessorConfig(dir, config), err(/field max_pixels/));
  });
  await folder({ "tokenizer_config.json": "{not json" }, (dir) => {
    assert.throws(
      () => readHfProcessorConfig(dir, config),
      err(/tokenizer_config\.json: field \(contents\): expected JSON/),
    );
  });
});
