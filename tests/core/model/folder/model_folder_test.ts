import assert from "node:assert/strict";
import { join } from "node:path";
import { DataFormatError } from "../../../../core/errors.ts";
import { TINY_CONFIG } from "../../../../core/model/config.ts";
import { initParameters } from "../../../../core/model/init.ts";
import {
  isModelFolder,
  MODEL_FOLDER_FILES,
  readModelFolder,
  writeModelFolder,
} from "../../../../core/model/folder/model_folder.ts";
import { buildTinyTokenizerJson } from "../../../../core/text/build_tokenizer.ts";

Deno.test("a model folder written and read back has the same config, every weight bit for bit, and tokenizer", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const weights = initParameters(TINY_CONFIG, 3);
    const tokenizerJson = buildTinyTokenizerJson(0);
    assert.equal(isModelFolder(dir), false);
    await writeModelFolder(dir, { config: TINY_CONFIG, weights, tokenizerJson });
    assert.equal(isModelFolder(dir), true);
    const back = await readModelFolder(dir);
    assert.deepEqual(back.config, TINY_CONFIG);
    assert.equal(back.tokenizerJson, tokenizerJson);
    assert.deepEqual([...back.weights.keys()].sort(), [...weights.keys()].sort());
    for (const [n, w] of weights) assert.deepEqual(back.weights.get(n), w, n);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reading a folder without model.safetensors names the missing file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeModelFolder(dir, {
      config: TINY_CONFIG,
      weights: initParameters(TINY_CONFIG, 0),
      tokenizerJson: buildTinyTokenizerJson(0),
    });
    await Deno.remove(join(dir, MODEL_FOLDER_FILES.weights));
    await assert.rejects(
      () => readModelFolder(dir),
      (e: unknown) => e instanceof DataFormatError && e.message.includes(join(dir, "model.safetensors")),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
