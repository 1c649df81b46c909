/**
 * Fixtures for run-folder tests through the real `deno task train`: a small shard folder (2 train sequences, 1
 * held-out), a toy base model folder, and a way to start the command (or tests/train/_train_until.ts, which stops
 * itself at a progress line) as a child process.
 */
import { join } from "node:path";
import { DEFAULT_DATASET, generateDataset } from "../../core/scene/dataset.ts";
import { writeModelFolder } from "../../core/model/folder/model_folder.ts";
import { initParameters } from "../../core/model/init.ts";
import { buildTinyTokenizerJson } from "../../core/text/build_tokenizer.ts";
import { TOY_CONFIG } from "./_toy.ts";
import { commandOf, ROOT } from "../tasks/_task.ts";

/** Writes the small dataset into dir/data and a toy base into dir/base; returns their paths. */
export async function makeDataAndBase(dir: string): Promise<{ data: string; base: string }> {
  const data = join(dir, "data"), base = join(dir, "base");
  await generateDataset(data, {
    ...DEFAULT_DATASET,
    trainSequences: 2,
    heldoutSequences: 1,
    robustnessSequences: 0,
    heldoutFrames: 2,
    workers: 0,
  });
  await writeModelFolder(base, {
    config: TOY_CONFIG,
    weights: initParameters(TOY_CONFIG, 0),
    tokenizerJson: buildTinyTokenizerJson(0),
  });
  return { data, base };
}

/** A child process whose stdout and stderr are collected as they come. */
export class Child {
  stdout = "";
  stderr = "";
  readonly status: Promise<Deno.CommandStatus>;
  readonly #pumps: Promise<void>[];
  constructor(readonly process: Deno.ChildProcess) {
    const pump = async (s: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) this[key] += chunk;
    };
    this.#pumps = [pump(process.stdout, "stdout"), pump(process.stderr, "stderr")];
    this.status = process.status;
  }
  get pid(): number {
    return this.process.pid;
  }
  /** Resolves when a stdout line starts with `prefix`; rejects if the process ends first. */
  async waitFor(prefix: string): Promise<void> {
    let ended = false;
    this.status.then(() => ended = true);
    while (!this.stdout.split("\n").some((l) => l.startsWith(prefix))) {
      if (ended) throw new Error(`process ended before "${prefix}":\n${this.stdout}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  /** Exit code (after the output has been read to its end). */
  async done(): Promise<number> {
    const s = await this.status;
    await Promise.all(this.#pumps);
    return s.signal === null ? s.code : 128 + (s.signal === "SIGKILL" ? 9 : 15);
  }
}

/** `deno task train ARGS` with the task's own permissions, or the self-stopping driver (plus --allow-run). */
export function spawnTrain(args: string[], cwd: string, stop?: { at: string; how: "kill" | "pause" }): Child {
  const cmd = commandOf("train");
  const runArgs = stop
    ? [...cmd.slice(0, -1), "--allow-run", join(ROOT, "tests/train/_train_until.ts"), ...args]
    : [...cmd, ...args];
  return new Child(
    new Deno.Command(Deno.execPath(), {
      args: runArgs,
      cwd,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...(stop ? { GASP_TEST_STOP_AT: stop.at, GASP_TEST_STOP: stop.how } : {}) },
    }).spawn(),
  );
}

/** Runs `deno task train ARGS` to its end. */
export async function runTrain(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = spawnTrain(args, cwd);
  const code = await c.done();
  return { code, stdout: c.stdout, stderr: c.stderr };
}
