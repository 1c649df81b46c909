/**
 * Issue 17's stale-cache scenario through `deno task bench` itself: a different model written to the same folder
 * (so the same checkpoint name) must get its own answers, not the old model's; the cache says what it reused.
 * Real engine (onnxruntime-web WASM) over two tiny models with different seeded random weights. And --synthetic-seed
 * draws another set of items, recorded in results.json.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { TINY_CONFIG } from "../../../core/model/config.ts";
import { exportHeadFreeModel } from "../../../core/model/export_onnx.ts";
import { initParameters } from "../../../core/model/init.ts";
import { buildTinyTokenizerJson } from "../../../core/text/build_tokenizer.ts";
import { withTempDir } from "./fixtures.ts";
import { runTask } from "../../tasks/_task.ts";

async function bench(
  dir: string,
  model: string,
  out: string,
  extra: string[] = [],
): Promise<{ outputs: string[]; log: string }> {
  const r = await runTask("bench", [
    "--model",
    model,
    "--suite",
    "synthetic-depth-order",
    "--per-suite",
    "4",
    "--image-size",
    "56",
    "--max-tokens",
    "4",
    "--ep",
    "wasm",
    "--out",
    out,
    ...extra,
  ], dir);
  const log = r.stderr;
  assert.equal(r.code, 0, log);
  const lines = (await Deno.readTextFile(join(out, "base", "synthetic-depth-order.predictions.jsonl"))).trim();
  return { outputs: lines.split("\n").map((l) => JSON.parse(l).output), log };
}

Deno.test("a different model in the same folder gets its own answers, not the cached ones of the old model", async () => {
  await withTempDir(async (dir) => {
    const model = join(dir, "base");
    const write = (seed: number) =>
      exportHeadFreeModel(TINY_CONFIG, initParameters(TINY_CONFIG, seed), buildTinyTokenizerJson(), model);
    await write(1);
    const old = await bench(dir, model, join(dir, "out"));
    await Deno.remove(model, { recursive: true });
    await write(2);
    const swapped = await bench(dir, model, join(dir, "out"));
    const fresh = await bench(dir, model, join(dir, "fresh"));
    assert.notDeepEqual(
      fresh.outputs,
      old.outputs,
      "the two models must answer differently for this test to mean much",
    );
    assert.deepEqual(swapped.outputs, fresh.outputs, "the swapped model was served the old model's answers");
    assert.match(swapped.log, /base · synthetic-depth-order: reused 0 answers, generated 4/);
    // The same model again: every answer comes from the cache, and the log says so.
    const again = await bench(dir, model, join(dir, "out"));
    assert.deepEqual(again.outputs, fresh.outputs);
    assert.match(again.log, /base · synthetic-depth-order: reused 4 answers, generated 0/);
  });
});

Deno.test("--synthetic-seed draws other items (other request hashes) and results.json records the seed", async () => {
  await withTempDir(async (dir) => {
    const model = join(dir, "base");
    await exportHeadFreeModel(TINY_CONFIG, initParameters(TINY_CONFIG, 1), buildTinyTokenizerJson(), model);
    const items = async (out: string) => {
      const r = JSON.parse(await Deno.readTextFile(join(out, "results.json")));
      return { seed: r.config.synthetic.seed, hashes: r.suites[0].items.map((i: { hash: string }) => i.hash) };
    };
    await bench(dir, model, join(dir, "a"));
    await bench(dir, model, join(dir, "b"), ["--synthetic-seed", "3"]);
    const a = await items(join(dir, "a")), b = await items(join(dir, "b"));
    assert.equal(a.seed, 2026);
    assert.equal(b.seed, 3);
    assert.equal(b.hashes.length, 4);
    assert.ok(a.hashes.every((h: string) => !b.hashes.includes(h)), "the two draws share an item");
  });
});
