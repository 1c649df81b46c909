/**
 * results.json and report.md from runBench: baselines, intervals, paired tests, below-majority marks, merging per
 * suite and checkpoint, the run config, and --log-samples.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runBench } from "../../../eval/benchmarks/bench_run.ts";
import { type BenchResults, modalAnswer, readResults } from "../../../eval/benchmarks/results.ts";
import { mcnemarExact, wilsonInterval } from "../../../eval/benchmarks/statistics.ts";
import { questionNumber, ScriptedEngine, withTempDir, writeBlinkFixture } from "./fixtures.ts";

const KEY = (c: string) => c.repeat(64);
/** Gold A on three of every four items: majority 75 %, chance 50 %. */
const golds = (n: number) => Array.from({ length: n }, (_, i) => (i % 4 === 3 ? "B" : "A"));

function engines(g: readonly string[]) {
  const oracle = new ScriptedEngine((req) => g[questionNumber(req)]);
  const alwaysA = new ScriptedEngine(() => "A");
  const wrong = new ScriptedEngine((req) => (g[questionNumber(req)] === "A" ? "B" : "A"));
  return { oracle, alwaysA, wrong };
}

Deno.test("results carry chance, majority, Wilson CIs, McNemar against the control, and below-majority marks", async () => {
  await withTempDir(async (dir) => {
    const g = golds(40);
    const data = await writeBlinkFixture(join(dir, "blink"), g);
    const e = engines(g);
    const { results, markdown } = await runBench({
      suites: ["blink"],
      data: { blink: data },
      checkpoints: [
        { name: "base", engine: e.wrong, cacheKey: KEY("1") },
        { name: "sft-general", engine: e.alwaysA, cacheKey: KEY("2") },
        { name: "gasp", engine: e.oracle, cacheKey: KEY("3") },
      ],
      outDir: join(dir, "out"),
    });
    const s = results.suites[0];
    assert.equal(s.suite, "blink");
    assert.equal(s.headline, "overall");
    assert.equal(s.n, 40);
    assert.equal(s.chance.overall, 0.5);
    assert.equal(s.majority.overall, 0.75);
    assert.deepEqual(Object.keys(s.checkpoints), ["base", "sft-general", "gasp"]);
    assert.equal(s.checkpoints.gasp.metrics.overall.strict, 1);
    assert.equal(s.checkpoints["sft-general"].metrics.overall.strict, 0.75);
    assert.equal(s.checkpoints.base.metrics.overall.strict, 0);
    // Below majority: only base (0 %); "always A" equals the majority, which is not below it.
    assert.deepEqual(s.checkpoints.base.belowMajority, ["overall", "micro", "Visual_Correspondence"]);
    assert.deepEqual(s.checkpoints["sft-general"].belowMajority, []);
    assert.match(
      markdown,
      /\| overall \| 50\.0 \| 75\.0 \| 0\.0 \(0\.0\) ↓ \| 75\.0 \(75\.0\) \| 100\.0 \(100\.0\) \|/,
    );
    // Wilson on the accuracy.
    const w = wilsonInterval(30, 40);
    assert.equal(s.checkpoints["sft-general"].ci95!.method, "wilson");
    assert.ok(Math.abs(s.checkpoints["sft-general"].ci95!.lo - w.lo) < 1e-12);
    // Paired tests against sft-general (the default control): gasp wins the 10 B items, loses none.
    assert.equal(s.control, "sft-general");
    const t = s.comparisons.find((c) => c.a === "gasp")!;
    assert.equal(t.b, "sft-general");
    assert.equal(t.test, "mcnemar-exact");
    assert.deepEqual(t.discordant, { aOnly: 10, bOnly: 0 });
    assert.ok(Math.abs(t.diff! - 0.25) < 1e-12);
    assert.equal(t.pValue, mcnemarExact(10, 0));
    assert.ok(t.ci95!.lo > 0 && t.ci95!.hi <= 0.5);
    const tb = s.comparisons.find((c) => c.a === "base")!;
    assert.deepEqual(tb.discordant, { aOnly: 0, bOnly: 30 });
    assert.match(markdown, /- gasp − sft-general: \+25\.0 points \[\+\d+\.\d, \+\d+\.\d\], McNemar exact p = 0\.002/);
    assert.match(markdown, /n = 40 < 300 items/);
    assert.deepEqual(s.notes.length, 1);
    // The most frequent answer: "always A" gives A to every item; the oracle gives A to the 30 gold-A items; the
    // wrong engine answers B where the gold is A (30 of 40).
    assert.deepEqual(s.checkpoints["sft-general"].modalAnswer, { answer: "A", share: 1 });
    assert.deepEqual(s.checkpoints.gasp.modalAnswer, { answer: "A", share: 0.75 });
    assert.deepEqual(s.checkpoints.base.modalAnswer, { answer: "B", share: 0.75 });
    assert.match(
      markdown,
      /Most frequent answer \(share of items\): base "B" 75 % · sft-general "A" 100 % · gasp "A" 75 %/,
    );
    // The same file on disk.
    assert.deepEqual(await readResults(join(dir, "out", "results.json")), JSON.parse(JSON.stringify(results)));
  });
});

Deno.test("re-running one suite keeps the other suites; adding a checkpoint keeps the earlier ones", async () => {
  await withTempDir(async (dir) => {
    const g = golds(8);
    const blinkA = await writeBlinkFixture(join(dir, "a"), g);
    const blinkB = await writeBlinkFixture(join(dir, "b"), g, " (other)");
    const out = join(dir, "out");
    const e = engines(g);
    // Two runs of different suites into one results file.
    const first = await runBench({
      suites: ["blink"],
      data: { blink: blinkA },
      checkpoints: [{ name: "base", engine: e.alwaysA, cacheKey: KEY("1") }],
      outDir: out,
    });
    const synth = await runBench({
      suites: ["synthetic-depth-order"],
      data: {},
      checkpoints: [{ name: "base", engine: e.alwaysA, cacheKey: KEY("1") }],
      outDir: out,
      synthetic: { seed: 9, perSuite: 4, imageSize: 48, frames: 2 },
    });
    // The second run (another suite) kept the first's suite.
    assert.deepEqual(synth.results.suites.map((s) => s.suite), ["blink", "synthetic-depth-order"]);
    assert.deepEqual(synth.results.suites[0], first.results.suites[0]);
    assert.deepEqual(Object.keys(synth.results.runs).sort(), [first.results.config.id, synth.results.config.id].sort());
    // A new checkpoint on blink only: base is kept (same items) and paired with it; the synthetic suite is untouched.
    const added = await runBench({
      suites: ["blink"],
      data: { blink: blinkA },
      checkpoints: [{ name: "gasp", engine: e.oracle, cacheKey: KEY("3") }],
      outDir: out,
    });
    const blink = added.results.suites[0];
    assert.deepEqual(Object.keys(blink.checkpoints), ["base", "gasp"]);
    assert.equal(blink.checkpoints.base.run, first.results.config.id);
    assert.equal(blink.checkpoints.gasp.run, added.results.config.id);
    assert.deepEqual(blink.comparisons.map((c) => `${c.a}-${c.b}`), ["gasp-base"]);
    assert.deepEqual(added.results.suites[1], synth.results.suites[1]);
    assert.match(added.markdown, /- base: kept from the run of /);
    assert.match(added.markdown, /## synthetic-depth-order/);
    // Re-running base on other items (other prompts) drops gasp's entry, which was scored on the old items.
    const logs: string[] = [];
    const moved = await runBench({
      suites: ["blink"],
      data: { blink: blinkB },
      checkpoints: [{ name: "base", engine: e.alwaysA, cacheKey: KEY("1") }],
      outDir: out,
      log: (l) => logs.push(l),
    });
    assert.deepEqual(Object.keys(moved.results.suites[0].checkpoints), ["base"]);
    assert.ok(logs.some((l) => /dropped gasp on blink \(scored on other items or settings/.test(l)));
    assert.equal(moved.results.suites.length, 2);
    // Runs no entry refers to any more are pruned.
    assert.ok(!(first.results.config.id in moved.results.runs));
  });
});

Deno.test("results.json carries the full run config, and --log-samples writes one line per item", async () => {
  await withTempDir(async (dir) => {
    const g = golds(4);
    const data = await writeBlinkFixture(join(dir, "blink"), g);
    const e = engines(g);
    const out = join(dir, "out");
    const model = { path: "/models/gasp/export", sha256: "f".repeat(64), engine: "ort-wasm" };
    const { results } = await runBench({
      suites: ["blink"],
      data: { blink: data },
      checkpoints: [{ name: "gasp", engine: e.wrong, cacheKey: KEY("3"), model }],
      outDir: out,
      maxTokens: 7,
      seed: 3,
      limit: 4,
      logSamples: true,
      notes: ["a note"],
      argv: ["deno", "task", "bench", "--log-samples"],
    });
    const raw: BenchResults = JSON.parse(await Deno.readTextFile(join(out, "results.json")));
    const c = raw.config;
    assert.equal(raw.schema, "gasp-bench-results/1");
    assert.deepEqual(c, results.config);
    assert.deepEqual([c.suites, c.data, c.maxTokens, c.seed, c.limit], [["blink"], { blink: data }, 7, 3, 4]);
    assert.deepEqual([c.reuseCache, c.logSamples, c.notes, c.argv], [true, true, ["a note"], [
      "deno",
      "task",
      "bench",
      "--log-samples",
    ]]);
    assert.deepEqual(c.models, [{ name: "gasp", ...model }]);
    assert.ok(c.host.cpus >= 1 && c.host.deno.length > 0 && c.startedAt <= c.finishedAt!);
    assert.deepEqual(raw.suites[0].checkpoints.gasp.model, model);
    const lines = (await Deno.readTextFile(join(out, "gasp", "blink.samples.jsonl"))).trim().split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 4);
    assert.deepEqual(
      [lines[3].doc_id, lines[3].id, lines[3].target, lines[3].response, lines[3].parsed, lines[3].score],
      [3, "val_Visual_Correspondence_3", "B", "A", "A", 0],
    );
    assert.match(
      lines[3].question,
      /^Note: You only need to respond with A, B .*\nquestion 3\n\(A\) left\n\(B\) right$/s,
    );
    assert.equal(lines[3].target_text, "right");
    assert.equal(typeof lines[3].item_hash, "string");
    assert.equal(lines[3].cached, false);
  });
});

Deno.test("modalAnswer: the most frequent answer and its share; the first seen wins a tie; none for no items", () => {
  assert.deepEqual(modalAnswer(["3", "1", "3", "", "3"]), { answer: "3", share: 0.6 });
  assert.deepEqual(modalAnswer(["B", "A", "A", "B"]), { answer: "B", share: 0.5 });
  assert.deepEqual(modalAnswer([""]), { answer: "", share: 1 });
  assert.equal(modalAnswer([]), null);
});
