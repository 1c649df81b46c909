import assert from "node:assert/strict";
import { join } from "node:path";
import { AnswerCache } from "../../../eval/benchmarks/answer_cache.ts";
import { formatProgress, runPredictions } from "../../../eval/benchmarks/runner.ts";
import type { BenchItem } from "../../../eval/benchmarks/types.ts";
import { pngBytes, promptOf, ScriptedEngine, withTempDir } from "./fixtures.ts";

function items(n: number): BenchItem[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `q${i}`,
    benchmark: "blink" as const,
    category: "c",
    images: [{
      kind: "bytes" as const,
      bytes: pngBytes(4, 4, [i, 0, 0]),
      mime: "image/png" as const,
      file: "f",
      row: i,
      field: "image_1",
    }],
    prompt: `question ${i}`,
    answerKind: "choice" as const,
    gold: "A",
    choices: { A: "x", B: "y" },
    maxTokens: 1024,
    meta: {},
  }));
}

Deno.test("runner sends images then the prompt, greedy, with the item's max tokens unless overridden", async () => {
  const eng = new ScriptedEngine(() => "A");
  await runPredictions({ engine: eng, items: items(2), maxTokens: 16, seed: 7 });
  const req = eng.calls[0];
  const content = req.messages[0].content;
  assert.ok(typeof content !== "string");
  assert.deepEqual(content.map((c) => c.type), ["image", "text"]);
  const img = content[0].type === "image" ? content[0].image : undefined;
  assert.ok(img && "bytes" in img && img.width === 4 && img.height === 4 && img.mime === "image/png");
  assert.equal(promptOf(req), "question 0");
  assert.deepEqual([req.temperature, req.topP, req.maxTokens, req.seed], [0, 1, 16, 7]);
});

const KEY = "ab".repeat(32);

Deno.test("a crash mid-run keeps finished answers in the cache; the rerun generates only the rest", async () => {
  await withTempDir(async (dir) => {
    const crashing = new ScriptedEngine((_req, call) => {
      if (call === 3) throw new Error("engine died");
      return `answer ${call}`;
    });
    const c1 = await AnswerCache.open(dir, KEY);
    await assert.rejects(runPredictions({ engine: crashing, items: items(6), cache: c1 }), /engine died/);
    c1.close();
    assert.equal((await AnswerCache.open(dir, KEY)).answers.size, 3);
    const eng = new ScriptedEngine((req) => `late ${promptOf(req)}`);
    const progress: string[] = [];
    const c2 = await AnswerCache.open(dir, KEY);
    const r = await runPredictions({
      engine: eng,
      items: items(6),
      cache: c2,
      onProgress: (p) => progress.push(formatProgress(p)),
    });
    c2.close();
    assert.deepEqual(eng.calls.map(promptOf), ["question 3", "question 4", "question 5"]);
    assert.deepEqual([r.reused, r.generated], [3, 3]);
    assert.equal(r.predictions.get("q0")!.output, "answer 0");
    assert.equal(r.predictions.get("q0")!.cached, true);
    assert.equal(r.predictions.get("q5")!.output, "late question 5");
    assert.deepEqual([...r.predictions.keys()], ["q0", "q1", "q2", "q3", "q4", "q5"]);
    assert.match(progress.at(-1)!, /^\[blink\] 6\/6 \(100\.0%\), 3 reused, ETA 0s$/);
    // A third run does nothing; with reuse off (--no-cache) everything is generated again.
    const idle = new ScriptedEngine(() => "x");
    const c3 = await AnswerCache.open(dir, KEY);
    assert.equal((await runPredictions({ engine: idle, items: items(6), cache: c3 })).reused, 6);
    assert.equal(idle.calls.length, 0);
    const fresh = await runPredictions({ engine: idle, items: items(6), cache: c3, reuse: false });
    c3.close();
    assert.deepEqual([fresh.reused, fresh.generated, idle.calls.length], [0, 6, 6]);
    // The fresh answers replaced the cached ones.
    assert.equal((await AnswerCache.open(dir, KEY)).answers.size, 6);
    const again = await runPredictions({ engine: idle, items: items(6), cache: await AnswerCache.open(dir, KEY) });
    assert.equal(again.predictions.get("q0")!.output, "x");
  });
});

Deno.test("an answer is reused only for the same request: other images or settings are asked again", async () => {
  await withTempDir(async (dir) => {
    const cache = await AnswerCache.open(dir, KEY);
    const eng = new ScriptedEngine(() => "A");
    await runPredictions({ engine: eng, items: items(2), cache, maxTokens: 8 });
    // Same ids and prompts, other image bytes: new requests.
    const recoloured = items(2).map((it, i) => ({
      ...it,
      images: [{ ...it.images[0], bytes: pngBytes(4, 4, [i, 9, 0]) } as typeof it.images[0]],
    }));
    assert.equal((await runPredictions({ engine: eng, items: recoloured, cache, maxTokens: 8 })).generated, 2);
    assert.equal((await runPredictions({ engine: eng, items: items(2), cache, maxTokens: 9 })).generated, 2);
    assert.equal((await runPredictions({ engine: eng, items: items(2), cache, maxTokens: 8, seed: 1 })).generated, 2);
    const reworded = items(2).map((it) => ({ ...it, prompt: it.prompt + "?" }));
    assert.equal((await runPredictions({ engine: eng, items: reworded, cache, maxTokens: 8 })).generated, 2);
    assert.equal((await runPredictions({ engine: eng, items: items(2), cache, maxTokens: 8 })).reused, 2);
    cache.close();
  });
});

Deno.test("a torn last cache line is dropped and redone; a corrupt middle line is a named error", async () => {
  await withTempDir(async (dir) => {
    const eng = new ScriptedEngine(() => "B");
    const first = await runPredictions({ engine: eng, items: items(1), cache: await AnswerCache.open(dir, KEY) });
    const hash = first.predictions.get("q0")!.itemHash;
    const path = join(dir, `${KEY}.jsonl`);
    await Deno.writeTextFile(
      path,
      JSON.stringify({ item: hash, output: "A", promptTokens: 1, completionTokens: 1, timingMs: 1 }) +
        '\n{"item":"ff","out',
    );
    const cache = await AnswerCache.open(dir, KEY);
    const r = await runPredictions({ engine: eng, items: items(2), cache });
    cache.close();
    assert.equal(eng.calls.length, 2, "q0 once before, q1 now");
    assert.deepEqual([...r.predictions.values()].map((p) => p.output), ["A", "B"]);
    assert.equal((await Deno.readTextFile(path)).split("\n").filter((l) => l).length, 2);
    await Deno.writeTextFile(path, 'garbage\n{"item":"q1","output":"B"}\n');
    await assert.rejects(AnswerCache.open(dir, KEY), /\.jsonl: field line 1: expected one JSON answer record/);
  });
});

Deno.test("batched engines get batches of the configured size", async () => {
  await withTempDir(async (dir) => {
    const sizes: number[] = [];
    const eng = {
      generate: () => Promise.reject(new Error("unbatched call")),
      generateBatch: (reqs: unknown[]) => {
        sizes.push(reqs.length);
        return Promise.resolve(
          reqs.map(() => ({
            text: "A",
            promptTokens: 1,
            completionTokens: 1,
            finishReason: "stop" as const,
            timingMs: 1,
          })),
        );
      },
    };
    await runPredictions({ engine: eng, items: items(5), cache: await AnswerCache.open(dir, KEY), batchSize: 2 });
    assert.deepEqual(sizes, [2, 2, 1]);
  });
});
