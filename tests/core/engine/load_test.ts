/**
 * createEngine: a real export dir gives the real engine (a training dir holding export/ too), a non-export dir is a
 * named error, --stand-in is the only way to the stand-in, and the no-model default prefers runs/gasp, then runs/base,
 * then exports the untrained tiny model once into runs/tiny-random/export.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  checkpointLabel,
  createEngine,
  defaultModelDir,
  defaultModelName,
  resolveExportDir,
} from "../../../core/engine/load.ts";
import { OrtEngine } from "../../../core/engine/ort_engine.ts";
import { StandInEngine } from "../../../core/engine/stand_in.ts";
import { ConfigError } from "../../../core/errors.ts";

async function fakeExport(dir: string, files = ["config.json", "tokenizer.json", "vision.onnx", "decoder.onnx"]) {
  await Deno.mkdir(dir, { recursive: true });
  for (const f of files) await Deno.writeTextFile(join(dir, f), "{}");
}

Deno.test("resolveExportDir accepts an export dir or a dir holding export/, and names what is missing", async () => {
  const root = await Deno.makeTempDir();
  try {
    await fakeExport(join(root, "gasp", "export"));
    assert.equal(resolveExportDir(join(root, "gasp")), join(root, "gasp", "export"));
    assert.equal(resolveExportDir(join(root, "gasp", "export")), join(root, "gasp", "export"));
    await fakeExport(join(root, "half"), ["config.json", "tokenizer.json"]);
    assert.throws(
      () => resolveExportDir(join(root, "half")),
      (e) =>
        e instanceof ConfigError && e.message.includes(join(root, "half")) &&
        /missing vision\.onnx, decoder\.onnx/.test(
          e.message,
        ),
    );
    assert.throws(
      () => resolveExportDir(join(root, "nope")),
      (e) => e instanceof ConfigError && /does not exist/.test(e.message),
    );
    await assert.rejects(
      createEngine(join(root, "half")),
      (e) => e instanceof ConfigError && /decoder\.onnx/.test(e.message),
    );
    assert.equal(checkpointLabel(join(root, "gasp", "export")), "gasp");
    assert.equal(checkpointLabel(join(root, "base")), "base");
    assert.equal(defaultModelName(join(root, "tiny-random", "export")), "gasp-tiny-random");
    assert.equal(defaultModelName(join(root, "gasp")), "gasp-tiny-gasp");
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
      untrained: false,
      why: "trained base model found",
    });
    await fakeExport(join(runs, "gasp", "export"));
    assert.equal((await defaultModelDir(runs)).dir, join(runs, "gasp", "export"));
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

Deno.test("resolveExportDir prefers a training run's export/ over the run's own config.json", async () => {
  const { resolveExportDir, EXPORT_FILES } = await import("../../../core/engine/load.ts");
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/config.json`, "{}"); // a run dir's base config, not an export
    await Deno.mkdir(`${dir}/export`);
    for (const f of EXPORT_FILES) await Deno.writeTextFile(`${dir}/export/${f}`, "x");
    const { join } = await import("node:path");
    if (resolveExportDir(dir) !== join(dir, "export")) throw new Error(`got ${resolveExportDir(dir)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
