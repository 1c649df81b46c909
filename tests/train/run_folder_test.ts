/**
 * train/run_folder.ts in process: what a run may start writing into, the leftovers it removes or restores, and the
 * metrics it carries over; and I/O failures (a real ENOSPC from /dev/full) that name the path being written.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, IoError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../core/io/atomic.ts";
import { writeModelFolder } from "../../core/model/folder/model_folder.ts";
import { initParameters } from "../../core/model/init.ts";
import { Rng } from "../../core/random.ts";
import { buildTinyTokenizerJson } from "../../core/text/build_tokenizer.ts";
import { saveCheckpoint } from "../../train/checkpoint.ts";
import { DEFAULT_TRAIN_CONFIG } from "../../train/config.ts";
import { appendConfigRecord, appendStepMetrics, readMetrics, type StepMetrics } from "../../train/metrics_log.ts";
import { checkRunFolder, openRunFolder, runFolderOf } from "../../train/run_folder.ts";
import { TOY_CONFIG } from "./_toy.ts";
import { withTempDir } from "../_helpers/temp_dir.ts";

const stepRecord = (n: number): StepMetrics => ({
  step: n,
  loss: { total: n, lm: n, corr: 0, depth: 0 },
  gradNorm: 1,
  lr: 1e-3,
  tokens: 10,
  stepTimeS: 0.1,
  elapsedS: n * 0.1,
});

/** A run folder with a real checkpoint at each of `steps` (latest: the last) and metrics for steps 1..last+extra. */
async function fakeRun(dir: string, steps: number[], extra = 0): Promise<void> {
  const rng = new Rng(0);
  for (const step of steps) {
    const w = { shape: [2], data: Float32Array.from([rng.normal(), rng.normal()]) };
    await saveCheckpoint(dir, {
      step,
      config: DEFAULT_TRAIN_CONFIG,
      base: { model: "tiny" },
      rng: { data: rng.state(), dropout: rng.state() },
      adapters: new Map([["w", w]]),
      optimizer: { step, expAvg: new Map([["w", w]]), expAvgSq: new Map([["w", w]]) },
    });
  }
  const path = join(dir, "metrics.jsonl");
  await appendConfigRecord(path, {});
  for (let s = 1; s <= steps.at(-1)! + extra; s++) await appendStepMetrics(path, stepRecord(s));
}

Deno.test("a fresh run refuses a folder holding a run or a model (pointing at --resume); resuming that run is allowed", async () => {
  await withTempDir(async (dir) => {
    const run = join(dir, "run");
    await fakeRun(run, [2]);
    await assert.rejects(() => checkRunFolder(run), (e) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /already holds a training run \(latest checkpoint .*step-000002\).*--resume /);
      return true;
    });
    await checkRunFolder(run, run);
    await checkRunFolder(run, join(run, "step-000002"));
    assert.equal(runFolderOf(join(run, "step-000002")), run);
    assert.equal(runFolderOf(run), run);
    // Resuming one run into a folder holding another is refused as well.
    const other = join(dir, "other");
    await fakeRun(other, [1]);
    await assert.rejects(() => checkRunFolder(other, run), /already holds a training run/);
    const model = join(dir, "model");
    await writeModelFolder(model, {
      config: TOY_CONFIG,
      weights: initParameters(TOY_CONFIG, 0),
      tokenizerJson: buildTinyTokenizerJson(0),
    });
    await assert.rejects(() => checkRunFolder(model), /already holds a model folder/);
    await checkRunFolder(join(dir, "absent")); // a new folder is fine
    assert.ok(!existsSync(join(dir, "absent")));
    // An earlier attempt killed before its first checkpoint left only metrics: a fresh run starts them over.
    const killed = join(dir, "killed");
    await Deno.mkdir(killed);
    await appendConfigRecord(join(killed, "metrics.jsonl"), {});
    for (let s = 1; s <= 3; s++) await appendStepMetrics(join(killed, "metrics.jsonl"), stepRecord(s));
    const lines: string[] = [];
    const f = await openRunFolder(killed, { log: (l) => lines.push(l) });
    await f.close();
    assert.match(lines.join("\n"), /metrics\.jsonl: dropped 4 records after step 0/);
    assert.deepEqual(await readMetrics(join(killed, "metrics.jsonl")), []);
  });
});

Deno.test("opening a resumed run removes checkpoint and atomic-write leftovers, restores a killed re-save, cuts metrics, moves latest back", async () => {
  await withTempDir(async (run) => {
    await fakeRun(run, [2, 4], 1); // metrics 1..5: step 5 was logged, its process died before a checkpoint
    // A re-save of step-000004 killed after moving the old copy aside: latest names a step that is missing.
    await Deno.rename(join(run, "step-000004"), join(run, "step-000004.old-0123abcd"));
    await Deno.mkdir(join(run, "step-000006.tmp-89abcdef"));
    await Deno.mkdir(join(run, "export"));
    await Deno.writeTextFile(join(run, "export", "decoder.onnx.777.fedcba98.tmp"), "half");
    await Deno.writeTextFile(join(run, "notes.tmp"), "not ours: kept");
    const lines: string[] = [];
    const folder = await openRunFolder(run, { resumed: { path: run, step: 4 }, log: (l) => lines.push(l) });
    try {
      const text = lines.join("\n");
      assert.match(text, /restored .*step-000004 from step-000004\.old-0123abcd/);
      assert.match(text, /removed .*step-000006\.tmp-89abcdef \(left by a process killed during a checkpoint write\)/);
      assert.match(text, /removed .*export\/decoder\.onnx\.777\.fedcba98\.tmp/);
      assert.match(text, /metrics\.jsonl: dropped 1 records after step 4/);
      const names = [...Deno.readDirSync(run)].map((e) => e.name).sort();
      assert.deepEqual(names, [
        "export",
        "latest",
        "metrics.jsonl",
        "notes.tmp",
        "run.lock",
        "step-000002",
        "step-000004",
      ]);
      assert.deepEqual([...Deno.readDirSync(join(run, "export"))], []);
      const steps = (await readMetrics(folder.metricsPath)).flatMap((r) => r.type === "step" ? [r.step] : []);
      assert.deepEqual(steps, [1, 2, 3, 4]);
    } finally {
      await folder.close();
    }
    assert.ok(!existsSync(join(run, "run.lock")));
    // Resuming from the older step-000002: latest moves back to it, metrics are cut to step 2.
    const again: string[] = [];
    const f2 = await openRunFolder(run, {
      resumed: { path: join(run, "step-000002"), step: 2 },
      log: (l) => again.push(l),
    });
    await f2.close();
    assert.match(again.join("\n"), /latest: step-000002 \(was step-000004/);
    assert.equal((await Deno.readTextFile(join(run, "latest"))).trim(), "step-000002");
  });
});

Deno.test("resuming into another --out copies the resumed run's metrics up to its step there", async () => {
  await withTempDir(async (dir) => {
    const run = join(dir, "run"), out = join(dir, "branch");
    await fakeRun(run, [3], 2);
    const lines: string[] = [];
    const f = await openRunFolder(out, { resumed: { path: run, step: 3 }, log: (l) => lines.push(l) });
    await f.close();
    assert.match(lines.join("\n"), /copied 3 step records \(1-3\)/);
    const steps = (await readMetrics(join(out, "metrics.jsonl"))).flatMap((r) => r.type === "step" ? [r.step] : []);
    assert.deepEqual(steps, [1, 2, 3]);
    assert.equal((await readMetrics(join(run, "metrics.jsonl"))).length, 6, "the source run is left as it was");
  });
});

/** Runs tests/train/_disk_full.ts CASE DIR (it needs --allow-all for /dev/full) and returns the error it caught. */
async function diskFull(what: "checkpoint" | "metrics", dir: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_disk_full.ts", import.meta.url).pathname, what, dir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!;
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(text) as { name: string; path: string | null; message: string };
}

Deno.test("disk full (ENOSPC from /dev/full) while writing a checkpoint file is an IoError naming that file; nothing is committed", async () => {
  await withTempDir(async (run) => {
    const e = await diskFull("checkpoint", run);
    assert.equal(e.name, "IoError", e.message);
    assert.match(e.path!, /step-000003\.tmp-[0-9a-f]{8}\/optimizer\.safetensors$/);
    assert.match(e.message, /could not write checkpoint file .*optimizer\.safetensors: No space left on device/);
    assert.deepEqual([...Deno.readDirSync(run)].map((x) => x.name), [], "no partial checkpoint, no latest");
  });
});

Deno.test("disk full while appending to metrics.jsonl mid-run stops train() with an IoError naming metrics.jsonl, and frees the lock", async () => {
  await withTempDir(async (dir) => {
    const e = await diskFull("metrics", dir);
    assert.equal(e.name, "IoError", e.message);
    assert.equal(e.path, join(dir, "run", "metrics.jsonl"));
    assert.match(e.message, /could not append to .*run\/metrics\.jsonl: No space left on device/);
    assert.ok(!existsSync(join(dir, "run", "run.lock")), "the lock is released when train() fails");
  });
});

Deno.test("writeFileAtomic names the target path when the write fails", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "a-file");
    await Deno.writeTextFile(file, "x");
    await assert.rejects(
      () => writeFileAtomic(join(file, "latest"), "step-000001\n"),
      (e) =>
        e instanceof IoError && e.path === join(file, "latest") && /could not write .*a-file\/latest: /.test(e.message),
    );
  });
});
