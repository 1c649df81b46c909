/**
 * Every task that takes a model (`train --model` as the base, eval, bench, export, bench:model) accepts each form a
 * model has on disk (core/model/folder/resolve.ts): a training run (finished: its export; unfinished: its latest
 * checkpoint), an export, a base model folder (with or without export/) and a step checkpoint (GASP or --stage
 * base), and prints which one it resolved. The folders are real toy runs (tests/core/model/folder/_runs.ts); each
 * task runs as deno.json defines it. serve and bench:serve load through core/engine (not covered here yet).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadExportDir } from "../../core/model/export_onnx.ts";
import { loadModel } from "../../core/model/folder/load.ts";
import { resolveModelDir } from "../../core/model/folder/resolve.ts";
import { loadCheckpoint } from "../../train/checkpoint.ts";
import { train } from "../../train/loop.ts";
import { toySequences } from "../train/_toy.ts";
import { makeToyRuns } from "../core/model/folder/_runs.ts";
import { makeDataAndBase } from "../train/_run_fixtures.ts";
import { runTask, type TaskResult } from "./_task.ts";

function ok(r: TaskResult, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
}

Deno.test("train --model, eval, bench, export and bench:model take a run, its export, a base folder and a step checkpoint, and print which one they resolved", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gasp-kinds-" });
  try {
    const toy = await makeToyRuns(join(dir, "runs"));
    const { data } = await makeDataAndBase(join(dir, "d"));
    // A finished GASP run (export/, no model folder): the unfinished one resumed to its end in another folder.
    const done = join(dir, "runs", "gasp-done");
    const config = (await loadCheckpoint(toy.gasp)).config;
    const sequences = toySequences(2, 3);
    const finished = await train(config, { out: done, resume: toy.gasp, baseDir: toy.base, sequences, log: () => {} });
    for (const r of [toy.gaspResult, toy.baseRunResult, finished]) r.model.dispose();
    const kinds: Record<string, { path: string; kind: string; what: RegExp }> = {
      "finished run": { path: done, kind: "run", what: /^training run .*: its export / },
      "unfinished run": {
        path: toy.gasp,
        kind: "run",
        what: /without an export \(unfinished\): its latest checkpoint/,
      },
      "export": { path: join(toy.baseRun, "export"), kind: "export", what: /^export folder / },
      "base folder": { path: toy.base, kind: "model-folder", what: /^model folder \S+$/ },
      "base folder with export": { path: toy.baseRun, kind: "model-folder", what: /^model folder .* \(export: / },
      "GASP step checkpoint": { path: join(toy.gasp, "step-000001"), kind: "checkpoint", what: /^step checkpoint / },
      "base step checkpoint": { path: join(toy.baseRun, "step-000001"), kind: "checkpoint", what: /^step checkpoint / },
    };
    const resolved = Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, resolveModelDir(v.path)]));
    for (const [k, v] of Object.entries(kinds)) {
      assert.equal(resolved[k].kind, v.kind, k);
      assert.match(resolved[k].description, v.what, k);
    }

    for (const [k, r] of Object.entries(resolved)) {
      // export: the exported weights are loadModel's, bit for bit (LoRA folded in for a GASP checkpoint).
      const out = join(dir, "export", k.replaceAll(" ", "-"));
      const e = await runTask("export", ["--model", r.path, "--out", out], dir);
      ok(e, `export ${k}`);
      assert.ok(e.stdout.includes(`model: ${r.description}`), `export ${k} must print what it resolved:\n${e.stdout}`);
      const [want, got] = [await loadModel(r), await loadExportDir(out)];
      assert.deepEqual([...got.weights.keys()].sort(), [...want.weights.keys()].sort());
      for (const [name, w] of want.weights) assert.deepEqual(got.weights.get(name), w, `${k}: ${name}`);

      // bench:model on onnxruntime-web (WASM), one decode step; a model without an export is exported first.
      const json = join(dir, "bench-model", `${k.replaceAll(" ", "-")}.json`);
      const b = await runTask(
        "bench:model",
        ["--model", r.path, "--engines", "wasm", "--decode", "1", "--json", json],
        dir,
      );
      ok(b, `bench:model ${k}`);
      assert.ok(b.stdout.includes(`model: ${r.description}`), `bench:model ${k}:\n${b.stdout}`);
      const res = JSON.parse(await Deno.readTextFile(json)).results;
      assert.equal(res.length, 1);
      assert.equal(res[0].engine, "onnxruntime-web-wasm");
      assert.ok(res[0].decodeTokensPerSec > 0 && res[0].promptTokens > 0);

      // train --model: one GASP step on this base; the run says which base it resolved and exports.
      const run = join(dir, "train", k.replaceAll(" ", "-"));
      const t = await runTask("train", [
        ...["--preset", "full", "--max-steps", "1", "--data", data, "--model", r.path, "--out", run],
        ...["--pck-sequences", "1", "--set", "batch=2", "--set", "data.framesPerItem=2", "--set", "lora.rank=4"],
      ], dir);
      ok(t, `train --model ${k}`);
      assert.ok(t.stdout.includes(`base: ${r.description}`), `train --model ${k}:\n${t.stdout}`);
      assert.ok((await Deno.stat(join(run, "export", "decoder.onnx"))).isFile);
    }

    // eval: all of them side by side; each model's log line says what it resolved.
    const all = Object.values(resolved);
    const ev = await runTask("eval", [
      ...all.flatMap((r) => ["--model", r.path]),
      ...["--data", data, "--limit", "1", "--matcher", "cpu", "--no-png", "--out", join(dir, "eval")],
    ], dir);
    ok(ev, "eval");
    for (const r of all) assert.ok(ev.stderr.includes(`model ${r.label}: ${r.description}`), `eval:\n${ev.stderr}`);

    // bench: two runs (labels must differ within one), 2 synthetic items each.
    const groups = [
      ["finished run", "unfinished run", "export", "base folder"],
      ["base folder with export", "GASP step checkpoint", "base step checkpoint"],
    ];
    for (const [i, g] of groups.entries()) {
      const be = await runTask("bench", [
        ...g.flatMap((k) => ["--model", resolved[k].path]),
        ...["--suite", "synthetic-depth-order", "--per-suite", "2", "--image-size", "56", "--max-tokens", "2"],
        ...["--ep", "wasm", "--out", join(dir, `bench-${i}`)],
      ], dir);
      ok(be, `bench ${g.join(", ")}`);
      for (const k of g) {
        assert.ok(be.stderr.includes(`: ${resolved[k].description}`), `bench ${k}:\n${be.stderr}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
