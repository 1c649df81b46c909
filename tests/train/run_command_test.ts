/**
 * A training run's folder through the real `deno task train` (child processes, the task's own permissions): kills at
 * the worst moment, a second run into a locked folder, resume routing for `--stage base` and GASP, and inputs that
 * fail validation before anything is written. Runs are tiny (the TINY base on 2 sequences, a toy GASP base).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readMetrics } from "../../train/metrics_log.ts";
import { makeDataAndBase, runTrain, spawnTrain } from "./_run_fixtures.ts";
import { withTempDir } from "../_helpers/temp_dir.ts";

const withDir = <T>(fn: (dir: string) => Promise<T>) => withTempDir(fn, "gasp-run-");

async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

async function stepsLogged(run: string): Promise<{ steps: number[]; configs: number }> {
  const recs = await readMetrics(join(run, "metrics.jsonl"));
  return {
    steps: recs.flatMap((r) => (r.type === "step" ? [r.step] : [])),
    configs: recs.filter((r) => r.type === "config").length,
  };
}

const BASE_RUN = ["--stage", "base", "--max-steps", "12", "--set", "checkpointEvery=4", "--set", "batch=1"];

Deno.test("a base run SIGKILLed between step 8's metrics line and its checkpoint: a second run into its folder refuses naming the pid; --resume takes over the stale lock, removes killed writes' leftovers, keeps one record per step", async () => {
  await withDir(async (dir) => {
    const { data } = await makeDataAndBase(dir);
    const run = join(dir, "part");
    // 1. Run A stops itself right after printing step 8 (its metrics record is written, its checkpoint is not).
    const a = spawnTrain([...BASE_RUN, "--data", data, "--out", run], dir, { at: "step  8/12", how: "pause" });
    await a.waitFor("PAUSED");
    assert.deepEqual((await stepsLogged(run)).steps, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal((await Deno.readTextFile(join(run, "latest"))).trim(), "step-000004");
    // 2. A second run into the same folder while A holds it: refused, naming A's pid; nothing in the folder changes.
    const before = { files: await listing(run), metrics: await Deno.readTextFile(join(run, "metrics.jsonl")) };
    for (const args of [[...BASE_RUN, "--data", data, "--out", run], [...BASE_RUN, "--data", data, "--resume", run]]) {
      const b = await runTrain(args, dir);
      assert.notEqual(b.code, 0, b.stdout);
      assert.match(b.stderr, new RegExp(`FolderLockedError: .*part is in use by another process \\(pid ${a.pid}\\b`));
      assert.equal(b.stderr.trim().split("\n").length, 1, b.stderr);
      assert.deepEqual(await listing(run), before.files);
      assert.equal(await Deno.readTextFile(join(run, "metrics.jsonl")), before.metrics);
    }
    // 3. SIGKILL A at that moment; it leaves its lock file. Plant what a kill during a checkpoint write leaves.
    a.process.kill("SIGKILL");
    assert.equal(await a.done(), 137);
    assert.ok(existsSync(join(run, "run.lock")));
    await Deno.mkdir(join(run, "step-000008.tmp-0badc0de"));
    await Deno.writeTextFile(join(run, "step-000008.tmp-0badc0de", "adapters.safetensors"), "half a file");
    await Deno.writeTextFile(join(run, "latest.4242.0badc0de.tmp"), "step-0000");
    // 4. Resume without --out, from a scratch cwd: continues in the run it resumes (not runs/base).
    const c = await runTrain([...BASE_RUN, "--data", data, "--resume", run], dir);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, new RegExp(`lock: took over .*run\\.lock left by pid ${a.pid}\\b.*that process is gone`));
    assert.match(
      c.stdout,
      /removed .*step-000008\.tmp-0badc0de \(left by a process killed during a checkpoint write\)/,
    );
    assert.match(c.stdout, /removed .*latest\.4242\.0badc0de\.tmp/);
    assert.match(c.stdout, /metrics\.jsonl: dropped 4 records after step 4/);
    assert.match(c.stdout, /resumed from .*part at step 4/);
    const logged = await stepsLogged(run);
    assert.deepEqual(logged.steps, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.equal(logged.configs, 2); // A's and C's; the refused runs wrote nothing
    const files = await listing(run);
    assert.ok(!files.some((f) => f.includes(".tmp") || f === "run.lock"), files.join(" "));
    assert.ok(files.includes("model.safetensors") && files.includes("export"));
    assert.ok(!existsSync(join(dir, "runs")), "nothing may be written to the default runs/base");
  });
});

Deno.test("GASP --resume RUN/step-000001 (no --out, no --model) writes into RUN on the base its checkpoint names", async () => {
  await withDir(async (dir) => {
    const { data, base } = await makeDataAndBase(dir);
    const run = join(dir, "gasp");
    const gasp = [
      "--preset",
      "full",
      "--max-steps",
      "3",
      "--set",
      "checkpointEvery=1",
      "--set",
      "batch=2",
      "--set",
      "data.framesPerItem=2",
      "--set",
      "lora.rank=4",
    ];
    const a = spawnTrain([...gasp, "--data", data, "--model", base, "--out", run, "--pck-sequences", "1"], dir, {
      at: "step 3/3",
      how: "kill",
    });
    assert.equal(await a.done(), 137, a.stderr);
    assert.deepEqual((await stepsLogged(run)).steps, [1, 2, 3]);
    assert.equal((await Deno.readTextFile(join(run, "latest"))).trim(), "step-000002");
    // Resume from step 1 explicitly (latest is step 2): steps 2 and 3 are recomputed, not duplicated.
    const c = await runTrain(["--resume", join(run, "step-000001"), "--data", data], dir);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, new RegExp(`base: model folder ${base}`));
    assert.match(c.stdout, /metrics\.jsonl: dropped 2 records after step 1/);
    assert.match(c.stdout, /latest: step-000001 \(was step-000002/);
    assert.deepEqual((await stepsLogged(run)).steps, [1, 2, 3]);
    assert.equal((await Deno.readTextFile(join(run, "latest"))).trim(), "step-000003");
    assert.ok(existsSync(join(run, "export", "decoder.onnx")));
    assert.ok(!existsSync(join(run, "step-000001", "metrics.jsonl")), "a step checkpoint is not a run folder");
    assert.ok(!existsSync(join(dir, "runs")), "nothing may be written to runs/base or runs/gasp");
  });
});

Deno.test("bad inputs are refused before anything is written to --out: missing manifest, corrupt shard, no model at --model, corrupt checkpoint", async () => {
  await withDir(async (dir) => {
    const { data } = await makeDataAndBase(dir);
    const out = join(dir, "out");
    const expectRefused = async (args: string[], pattern: RegExp, code?: number) => {
      const r = await runTrain([...args, "--out", out], dir);
      assert.notEqual(r.code, 0, r.stdout);
      if (code !== undefined) assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, pattern);
      assert.ok(!existsSync(out), `${args.join(" ")}: wrote ${existsSync(out) ? (await listing(out)).join(" ") : ""}`);
    };
    // A named --data without manifest.json is an error (never generated into), and stays empty.
    const empty = join(dir, "empty");
    await Deno.mkdir(empty);
    await expectRefused([...BASE_RUN, "--data", empty], /--data: .*empty has no manifest\.json/, 2);
    assert.deepEqual(await listing(empty), []);
    // A shard with one flipped byte (size intact: only its record CRC shows it) and a cut shard.
    const shard = join(data, "train-00000.gshard");
    const good = await Deno.readFile(shard);
    const flipped = good.slice();
    flipped[Math.floor(good.length / 2)] ^= 0xff;
    await Deno.writeFile(shard, flipped);
    await expectRefused([...BASE_RUN, "--data", data], /train-00000\.gshard: field record \d+: .*checksum mismatch/);
    await Deno.writeFile(shard, good.subarray(0, good.length - 100));
    await expectRefused([...BASE_RUN, "--data", data], /train-00000\.gshard: field \(size\): expected \d+ bytes/);
    await Deno.writeFile(shard, good);
    // GASP on a --model that holds no model (named, so never trained into).
    const notModel = join(dir, "not-a-model");
    await Deno.mkdir(notModel);
    await expectRefused(
      ["--preset", "full", "--data", data, "--model", notModel],
      /--model: .*not-a-model is not a model/,
      2,
    );
    assert.deepEqual(await listing(notModel), []);
    // A resumed checkpoint with a changed byte: refused, and its run folder is left as it was.
    const run = join(dir, "run");
    const ok = await runTrain(
      ["--stage", "base", "--max-steps", "1", "--set", "batch=1", "--data", data, "--out", run],
      dir,
    );
    assert.equal(ok.code, 0, ok.stderr);
    const adapters = join(run, "step-000001", "adapters.safetensors");
    const bytes = await Deno.readFile(adapters);
    bytes[bytes.length - 1] ^= 1;
    await Deno.writeFile(adapters, bytes);
    const files = await listing(run), metrics = await Deno.readTextFile(join(run, "metrics.jsonl"));
    const r = await runTrain(["--stage", "base", "--resume", run, "--data", data], dir);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /adapters\.safetensors: field \(sha256\)/);
    assert.deepEqual(await listing(run), files);
    assert.equal(await Deno.readTextFile(join(run, "metrics.jsonl")), metrics);
    // A fresh run into a folder that holds a run: refused, pointing at --resume.
    const again = await runTrain(["--stage", "base", "--max-steps", "1", "--data", data, "--out", run], dir);
    assert.equal(again.code, 2);
    assert.match(
      again.stderr,
      /already holds a training run \(latest checkpoint .*step-000001\); a new run would mix with it\. Continue it with --resume/,
    );
  });
});
