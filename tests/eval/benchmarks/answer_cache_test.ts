import type { ChatPart } from "../../../core/text/chat.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../../../core/errors.ts";
import { modelContentHash, requestHash } from "../../../eval/benchmarks/answer_cache.ts";
import { defaultComparisonDirs } from "../../../eval/benchmarks/models.ts";
import type { GenerationRequest } from "../../../eval/benchmarks/types.ts";
import { pngBytes, withTempDir } from "./fixtures.ts";

async function modelDir(dir: string, weights: Uint8Array): Promise<string> {
  await Deno.mkdir(join(dir, "sub"), { recursive: true });
  await Deno.writeTextFile(join(dir, "config.json"), '{"hidden_size": 8}');
  await Deno.writeFile(join(dir, "decoder.onnx"), weights);
  await Deno.writeTextFile(join(dir, "sub", "tokenizer.json"), "{}");
  return dir;
}

Deno.test("the model hash follows the files' bytes and names, not the folder's name", async () => {
  await withTempDir(async (dir) => {
    const w = new Uint8Array(5 << 20).map((_, i) => (i * 7) & 255); // larger than one read chunk
    const a = await modelContentHash(await modelDir(join(dir, "base"), w));
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.equal(
      await modelContentHash(await modelDir(join(dir, "elsewhere", "gasp"), w)),
      a,
      "same bytes, other name",
    );
    const w2 = w.slice();
    w2[w2.length - 1] ^= 1;
    assert.notEqual(await modelContentHash(await modelDir(join(dir, "base2"), w2)), a, "one flipped bit");
    await Deno.rename(join(dir, "base", "sub", "tokenizer.json"), join(dir, "base", "sub", "tok.json"));
    assert.notEqual(await modelContentHash(join(dir, "base")), a, "a renamed file");
    await Deno.mkdir(join(dir, "empty"));
    await assert.rejects(modelContentHash(join(dir, "empty")), /empty\: field \(folder\): expected model files/);
  });
});

Deno.test("the request hash covers prompt, image bytes and every generation setting", () => {
  const req = (
    o: Partial<GenerationRequest> = {},
    text = "q",
    rgb: [number, number, number] = [1, 2, 3],
  ): GenerationRequest => ({
    messages: [{
      role: "user" as const,
      content: [
        {
          type: "image" as const,
          image: { bytes: pngBytes(2, 2, rgb), mime: "image/png" as const, width: 2, height: 2 },
        },
        { type: "text" as const, text },
      ],
    }],
    maxTokens: 16,
    temperature: 0,
    topP: 1,
    seed: 0,
    stop: [],
    ...o,
  });
  const h = requestHash(req());
  assert.equal(requestHash(req()), h);
  const variants = [
    req({}, "q "),
    req({}, "q", [1, 2, 4]),
    req({ maxTokens: 15 }),
    req({ temperature: 0.5 }),
    req({ topP: 0.9 }),
    req({ seed: 1 }),
    req({ stop: ["\n"] }),
    { ...req(), messages: [{ ...req().messages[0], role: "system" as const }] },
    {
      ...req(),
      messages: [{ ...req().messages[0], content: [...(req().messages[0].content as ChatPart[])].reverse() }],
    },
  ];
  const hashes = variants.map(requestHash);
  assert.equal(new Set([h, ...hashes]).size, variants.length + 1);
});

Deno.test("the default comparison needs base, sft-general and gasp, and adds corr-only when it exists", async () => {
  await withTempDir(async (dir) => {
    assert.throws(() => defaultComparisonDirs(dir), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(
        e.message,
        /no trained model at runs\/base\/export, runs\/sft-general\/export, runs\/gasp\/export\./,
      );
      return true;
    });
    for (const n of ["base", "gasp"]) await Deno.mkdir(join(dir, "runs", n), { recursive: true });
    assert.throws(
      () => defaultComparisonDirs(dir),
      /at runs\/sft-general\/export\. .*`deno task train --preset sft-general`/,
    );
    await Deno.mkdir(join(dir, "runs", "sft-general"));
    assert.deepEqual(defaultComparisonDirs(dir), ["runs/base", "runs/sft-general", "runs/gasp"]);
    await Deno.mkdir(join(dir, "runs", "corr-only"));
    assert.deepEqual(defaultComparisonDirs(dir), ["runs/base", "runs/sft-general", "runs/gasp", "runs/corr-only"]);
  });
});
