/**
 * A training run's folder (`--out`) as one process owns it: the only place train() starts writing there.
 *
 * Before anything is written (checkRunFolder, read-only, called before the inputs are loaded):
 *   - no other live process holds its lock (core/io/lock.ts): two runs never mix in one folder;
 *   - a fresh run does not land on an earlier run or a model (it would mix metrics and overwrite checkpoints):
 *     continue that run with --resume, or pick another --out.
 * Then openRunFolder, once the inputs have validated:
 *   1. takes the lock (a lock file left by a killed process is taken over, with a log line);
 *   2. deletes what killed processes left: checkpoint temp folders "step-N.tmp-XXXXXXXX" (train/checkpoint.ts
 *      commit protocol), "step-N.old-XXXXXXXX" (restored instead when `latest` names that missing step), and
 *      writeFileAtomic temp files in the folder and its export/;
 *   3. cuts metrics.jsonl to the resumed checkpoint's step: records logged after it were written by a process that
 *      died before their checkpoint, and are recomputed, so the file holds each step once (a fresh run in a folder
 *      with no checkpoint starts it over). Resuming into another folder copies the records up to that step there.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ConfigError } from "../core/errors.ts";
import { removeStaleTemps, withPath, writeFileAtomic } from "../core/io/atomic.ts";
import { assertUnlocked, type FolderLock, lockFolder } from "../core/io/lock.ts";
import { isCheckpointDir, latestCheckpointDir } from "../core/model/folder/checkpoint_files.ts";
import { isModelFolder } from "../core/model/folder/model_folder.ts";
import { isExportDir } from "../core/model/folder/resolve.ts";
import { copyMetricsUpTo, truncateMetricsAfter } from "./metrics_log.ts";

export const METRICS_FILE = "metrics.jsonl";
const CHECKPOINT_TEMP = /^(step-\d+)\.(tmp|old)-[0-9a-f]{8}$/;

/** The run folder a `--resume` path belongs to: itself for a run folder, the parent of a step checkpoint. */
export function runFolderOf(resumePath: string): string {
  const abs = resolve(resumePath);
  return !existsSync(join(abs, "latest")) && isCheckpointDir(abs) ? dirname(abs) : abs;
}

/**
 * Read-only checks of `out` before a run loads its inputs: its lock is free, and (unless it resumes the run in `out`)
 * it holds no earlier run or model. Throws FolderLockedError or ConfigError; writes nothing.
 */
export async function checkRunFolder(out: string, resume?: string): Promise<void> {
  const dir = resolve(out);
  if (!existsSync(dir)) return;
  await assertUnlocked(dir);
  await assertNoEarlierRun(dir, resume);
}

async function assertNoEarlierRun(dir: string, resume?: string): Promise<void> {
  if (resume !== undefined && runFolderOf(resume) === dir) return;
  const latest = existsSync(join(dir, "latest")) ? await latestCheckpointDir(dir) : null;
  const what = latest
    ? `a training run (latest checkpoint ${latest})`
    : isModelFolder(dir)
    ? "a model folder"
    : isExportDir(dir) || isExportDir(join(dir, "export"))
    ? "a model export"
    : null;
  if (what) {
    throw new ConfigError(
      "--out",
      `${dir} already holds ${what}; a new run would mix with it. ` +
        (latest ? `Continue it with --resume ${dir}, or t` : "T") +
        "rain into another --out (or delete the folder to start over)",
    );
  }
}

export interface RunFolder {
  dir: string;
  metricsPath: string;
  /** Releases the lock (unless the caller passed its own). */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface OpenRunFolderOptions {
  /** The checkpoint this process resumed from (its path as given) and its step. */
  resumed?: { path: string; step: number };
  /** A lock on `out` the caller already holds (it keeps it after close). */
  lock?: FolderLock;
  log: (line: string) => void;
}

/** Steps 1-3 of the file comment; call only after the run's inputs have validated. */
export async function openRunFolder(out: string, o: OpenRunFolderOptions): Promise<RunFolder> {
  const dir = resolve(out);
  const lock = o.lock ?? await lockFolder(dir, { log: o.log });
  const close = async () => {
    if (!o.lock) await lock.release();
  };
  try {
    await assertNoEarlierRun(dir, o.resumed?.path);
    await removeStaleCheckpointTemps(dir, o.log);
    for (const d of [dir, join(dir, "export")]) {
      for (const name of await removeStaleTemps(d)) o.log(`removed ${join(d, name)} (left by a killed write)`);
    }
    const metricsPath = join(dir, METRICS_FILE);
    const step = o.resumed?.step ?? 0;
    const from = o.resumed ? runFolderOf(o.resumed.path) : dir;
    if (from !== dir && !existsSync(metricsPath) && existsSync(join(from, METRICS_FILE))) {
      const n = await copyMetricsUpTo(join(from, METRICS_FILE), metricsPath, step);
      o.log(`metrics.jsonl: copied ${n} step records (1-${step}) from ${join(from, METRICS_FILE)}`);
    } else {
      const dropped = await truncateMetricsAfter(metricsPath, step);
      if (dropped > 0) {
        o.log(
          `metrics.jsonl: dropped ${dropped} records after step ${step} (logged by a process that stopped before ` +
            "their checkpoint; they are recomputed)",
        );
      }
    }
    if (o.resumed && from === dir) await pointLatestAt(dir, o.resumed.path, o.log);
    return { dir, metricsPath, close, [Symbol.asyncDispose]: close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Checkpoint temp folders of killed writes; an ".old" copy of the step `latest` names is restored, not deleted. */
async function removeStaleCheckpointTemps(dir: string, log: (line: string) => void): Promise<void> {
  const latest = await Deno.readTextFile(join(dir, "latest")).then((s) => s.trim(), () => null);
  const entries: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isDirectory && CHECKPOINT_TEMP.test(e.name)) entries.push(e.name);
  for (const name of entries.sort()) {
    const [, step, kind] = CHECKPOINT_TEMP.exec(name)!;
    const path = join(dir, name);
    if (kind === "old" && step === latest && !existsSync(join(dir, step))) {
      await withPath(path, "restore", () => Deno.rename(path, join(dir, step)));
      log(`restored ${join(dir, step)} from ${name} (a re-save of it was killed mid-way)`);
      continue;
    }
    await withPath(path, "remove", () => Deno.remove(path, { recursive: true }));
    log(`removed ${path} (left by a process killed during a checkpoint write)`);
  }
}

/**
 * Resuming from a checkpoint older than the folder's latest (e.g. --resume RUN/step-000004 while latest is
 * step-000008): `latest` moves back to it, so a kill before the next checkpoint resumes this run, not the old one.
 */
async function pointLatestAt(dir: string, resumePath: string, log: (line: string) => void): Promise<void> {
  const abs = resolve(resumePath);
  if (abs === dir) return; // resumed from latest itself
  const name = abs.slice(dir.length + 1);
  const current = await Deno.readTextFile(join(dir, "latest")).then((s) => s.trim(), () => null);
  if (current === name || !/^step-\d+$/.test(name)) return;
  await writeFileAtomic(join(dir, "latest"), name + "\n");
  log(`latest: ${name} (was ${current ?? "none"}; later checkpoints are recomputed from it)`);
}
