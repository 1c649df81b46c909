/**
 * createEngine: any model path resolveModelDir accepts gives the real engine (a step checkpoint or an unfinished run
 * through a temporary export that dispose() removes), a folder holding no model is a named error, --stand-in is the only way to the stand-in, and the no-model default prefers runs/gasp, then runs/base,
 * then exports the untrained tiny model once into runs/tiny-random/export.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { createEngine, defaultModelDir, defaultModelName } from "../../../core/engine/load.ts";
import { startEngineWorker } from "../../../core/engine/worker_engine.ts";
import { makeToyRuns } from "../model/folder/_runs.ts";
import { OrtEngine } from "../../../core/engine/ort_engine.ts";
import { StandInEngine } from "../../../core/engine/stand_in.ts";
import { ConfigError } from "../../../core/errors.ts";

async function fakeExport(dir: string, files = ["config.json", "tokenizer.json", "vision.onnx", "decoder.onnx"]) {
  await Deno.mkdir(dir, { recursive: true });
  for (const f of files) await Deno.writeTextFile(join(dir, f), "{}");
}

Deno.test("a folder holding no model is a ConfigError naming it; names come from the model's label", async () => {
  const root = await Deno.makeTempDir();
  try {
    await fakeExport(join(root, "half"), ["config.json", "tokenizer.json"]);
    await assert.rejects(
      createEngine(join(root, "half")),
      (e) => e instanceof ConfigError && e.message.includes(join(root, "half")),
    );
    await assert.rejects(
      createEngine(join(root, "nope")),
      (e) => e instanceof ConfigError && /does not exist/.test(e.message),
    );
    assert.equal(defaultModelName("tiny-random"), "gasp-tiny-random");
    assert.equal(defaultModelName("gasp"), "gasp-tiny-gasp");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("createEngine and startEngineWorker serve a step checkpoint through a temporary export, removed by dispose", async () => {
  const root = await Deno.makeTempDir();
  try {
    const runs = await makeToyRuns(root);
    const checkpoint = join(runs.gasp, "step-000001");
    const le = await createEngine(checkpoint, { executionProvider: "wasm", log: () => {} });
    try {
      assert.ok(le.engine instanceof OrtEngine);
      assert.equal(le.engine.modelName, "gasp-tiny-gasp@step-000001");
      assert.match(le.description, /step checkpoint/);
      assert.ok(le.modelDir && existsSync(join(le.modelDir, "decoder.onnx")));
    } finally {
      await le.dispose();
    }
    assert.ok(!existsSync(le.modelDir!), "the temporary export outlived dispose()");
    const w = await startEngineWorker(checkpoint, { executionProvider: "wasm", log: () => {} });
    try {
      assert.match(w.description, /^step checkpoint .*running in a Worker$/);
      const r = await w.engine.generate({
        messages: [{ role: "user", content: "hi" }],
        maxTokens: 2,
        temperature: 0,
        topP: 1,
        seed: 0,
        stop: [],
      });
      assert.ok(r.completionTokens >= 1);
    } finally {
      await w.engine.close();
      await w.dispose();
    }
    assert.ok(!existsSync(w.modelDir!), "the Worker's temporary export outlived dispose()");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the stand-in only when asked: {standIn: true} ignores the model dir and says so", async () => {
  const le = await createEngine("/does/not/matter", { standIn: true, standInOptions: { tokenDelayMs: 0 } });
  assert.ok(le.engine instanceof StandInEngine);
  assert.equal(le.standIn, true);
  assert.match(le.description, /STAND-IN ENGINE, NOT A MODEL.*--model \/does\/not\/matter ignored/);
});

Deno.test("no --model: gasp, then base, else the untrained tiny model exported once and loaded for real", async () => {
  const runs = await Deno.makeTempDir();
  const logs: string[] = [];
  try {
    const le = await createEngine(undefined, { runsDir: runs, log: (m) => logs.push(m), executionProvider: "wasm" });
    const dir = join(runs, "tiny-random", "export");
    assert.ok(le.engine instanceof OrtEngine);
    assert.deepEqual([le.standIn, le.untrained, le.modelDir, le.engine.id], [false, true, dir, "ort-wasm"]);
    assert.equal(le.engine.modelName, "gasp-tiny-random");
    assert.match(le.description, /UNTRAINED MODEL .*answers are noise/);
    assert.match(le.description, /wasm execution provider \(requested\)/);
    assert.equal(logs.filter((l) => /exporting the UNTRAINED tiny model/.test(l)).length, 1);
    const r = await le.engine.generate({
      messages: [{ role: "user", content: [{ type: "text", text: "How many cubes?" }] }],
      maxTokens: 2,
      temperature: 0,
      topP: 1,
      seed: 0,
      stop: [],
    });
    assert.ok(r.promptTokens > 5 && r.completionTokens <= 2);
    await (le.engine as OrtEngine).release();

    const mtime = (await Deno.stat(join(dir, "decoder.onnx"))).mtime?.getTime();
    const again = await defaultModelDir(runs, (m) => logs.push(m));
    assert.deepEqual([again.dir, again.untrained], [dir, true]);
    assert.equal((await Deno.stat(join(dir, "decoder.onnx"))).mtime?.getTime(), mtime, "reused, not re-exported");

    await fakeExport(join(runs, "base", "export"));
    assert.deepEqual(await defaultModelDir(runs), {
      dir: join(runs, "base", "export"),
      label: "base",
      untrained: false,
      why: "trained base model found",
    });
    await fakeExport(join(runs, "gasp", "export"));
    assert.equal((await defaultModelDir(runs)).dir, join(runs, "gasp", "export"));
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});
