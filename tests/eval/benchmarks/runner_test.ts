import assert from "node:assert/strict";
import { join } from "node:path";
import { formatProgress, readPredictions, runPredictions } from "../../../eval/benchmarks/runner.ts";
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
  await withTempDir(async (dir) => {
    const eng = new ScriptedEngine(() => "A");
    await runPredictions({
      engine: eng,
      items: items(2),
      predictionsPath: join(dir, "p.jsonl"),
      maxTokens: 16,
      seed: 7,
    });
    const req = eng.calls[0];
    const content = req.messages[0].content;
    assert.ok(typeof content !== "string");
    assert.deepEqual(content.map((c) => c.type), ["image", "text"]);
    const img = content[0].type === "image" ? content[0].image : undefined;
    assert.ok(img && "bytes" in img && img.width === 4 && img.height === 4 && img.mime === "image/png");
    assert.equal(promptOf(req), "question 0");
    assert.deepEqual([req.temperature, req.topP, req.maxTokens, req.seed], [0, 1, 16, 7]);
  });
});

Deno.test("a crash mid-run keeps finished items; the rerun generates only the rest", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "ck", "blink.predictions.jsonl");
    const crashing = new ScriptedEngine((_req, call) => {
      if (call === 3) throw new Error("engine died");
      return `answer ${call}`;
    });
    await assert.rejects(runPredictions({ engine: crashing, items: items(6), predictionsPath: path }), /engine died/);
    assert.equal((await readPredictions(path)).size, 3);
    const eng = new ScriptedEngine((req) => `late ${promptOf(req)}`);
    const progress: string[] = [];
    const out = await runPredictions({
      engine: eng,
      items: items(6),
      predictionsPath: path,
      onProgress: (p) => progress.push(formatProgress(p)),
    });
    assert.deepEqual(eng.calls.map(promptOf), ["question 3", "question 4", "question 5"]);
    assert.equal(out.get("q0"), "answer 0");
    assert.equal(out.get("q5"), "late question 5");
    assert.match(progress[2], /^\[blink\] 6\/6 \(100\.0%\), 3 resumed, ETA 0s$/);
    // A third run does nothing.
    const idle = new ScriptedEngine(() => "x");
    await runPredictions({ engine: idle, items: items(6), predictionsPath: path });
    assert.equal(idle.calls.length, 0);
  });
});

Deno.test("a torn last JSONL line is dropped and redone; a corrupt middle line is a named error", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "p.jsonl");
    await Deno.writeTextFile(
      path,
      JSON.stringify({ id: "q0", output: "A", promptTokens: 1, completionTokens: 1, timingMs: 1 }) +
        '\n{"id":"q1","out',
    );
    const eng = new ScriptedEngine(() => "B");
    const out = await runPredictions({ engine: eng, items: items(2), predictionsPath: path });
    assert.equal(eng.calls.length, 1);
    assert.deepEqual([...out], [["q0", "A"], ["q1", "B"]]);
    assert.equal((await Deno.readTextFile(path)).split("\n").filter((l) => l).length, 2);
    await Deno.writeTextFile(path, 'garbage\n{"id":"q1","output":"B"}\n');
    await assert.rejects(readPredictions(path), /p\.jsonl: field line 1: expected one JSON prediction record/);
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
    await runPredictions({ engine: eng, items: items(5), predictionsPath: join(dir, "p.jsonl"), batchSize: 2 });
    assert.deepEqual(sizes, [2, 2, 1]);
  });
});
