/**
 * The on-disk layout of a training run's step checkpoints, and their verified reading: what train/checkpoint.ts
 * writes (with its crash-safe commit protocol) and what loads a checkpoint as a model (core/model/folder/load.ts).
 *
 *   RUN/latest                   one line: the name of the newest complete checkpoint ("step-000200")
 *   RUN/step-000200/
 *     adapters.safetensors       trainable tensors by name: LoRA (PEFT names under HF module paths) + heads, or
 *                                every parameter for a `--stage base` run
 *     optimizer.safetensors      "<param>.exp_avg", "<param>.exp_avg_sq"; metadata {"step": t}
 *     config.json                the resolved TrainConfig
 *     state.json                 step, named RNG states, base model reference {model, sha256?}, extra
 *     manifest.json              format, version, step, and per-file byte size + sha256 (written last)
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DataFormatError } from "../../errors.ts";

export const CHECKPOINT_FORMAT = "gasp-ts-checkpoint";
export const CHECKPOINT_VERSION = 1;
/** The files of a step checkpoint besides manifest.json, in the order they are written. */
export const CHECKPOINT_FILES = ["adapters.safetensors", "optimizer.safetensors", "config.json", "state.json"] as const;
export type CheckpointFile = (typeof CHECKPOINT_FILES)[number];

/** "step-000200" for step 200. */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, "0")}`;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** True when `dir` is a step checkpoint (its manifest.json says so). */
export function isCheckpointDir(dir: string): boolean {
  try {
    return JSON.parse(Deno.readTextFileSync(join(dir, "manifest.json"))).format === CHECKPOINT_FORMAT;
  } catch {
    return false;
  }
}

/** The directory `latest` points to, or null if the run has no complete checkpoint yet. */
export async function latestCheckpointDir(runDir: string): Promise<string | null> {
  let name: string;
  try {
    name = (await Deno.readTextFile(join(runDir, "latest"))).trim();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  if (!/^step-\d+$/.test(name)) {
    throw new DataFormatError(join(runDir, "latest"), "(contents)", 'a checkpoint name like "step-000200"', name);
  }
  return join(runDir, name);
}

/** A checkpoint's files, each checked against the manifest's size and sha256. */
export interface CheckpointBytes {
  /** The step directory read. */
  dir: string;
  /** The manifest's step. */
  step: number;
  files: Record<CheckpointFile, Uint8Array>;
}

/**
 * Reads and verifies a checkpoint: `path` is a run directory (follows `latest`) or a step directory. Every problem
 * is a DataFormatError naming the file and field.
 */
export async function readCheckpointFiles(path: string): Promise<CheckpointBytes> {
  const dir = existsSync(join(path, "latest")) ? (await latestCheckpointDir(path))! : path;
  const manifestPath = join(dir, "manifest.json");
  if (!existsSync(manifestPath)) {
    throw new DataFormatError(manifestPath, "(file)", "a manifest.json (is this a checkpoint directory?)", "missing");
  }
  const manifest = JSON.parse(await Deno.readTextFile(manifestPath));
  if (manifest.format !== CHECKPOINT_FORMAT) {
    throw new DataFormatError(manifestPath, "format", CHECKPOINT_FORMAT, String(manifest.format));
  }
  if (manifest.version !== CHECKPOINT_VERSION) {
    throw new DataFormatError(manifestPath, "version", String(CHECKPOINT_VERSION), String(manifest.version));
  }
  const files = {} as Record<CheckpointFile, Uint8Array>;
  for (const f of CHECKPOINT_FILES) {
    const p = join(dir, f);
    const want = manifest.files?.[f];
    if (!want) throw new DataFormatError(manifestPath, `files.${f}`, "an entry with bytes and sha256", "missing");
    let b: Uint8Array;
    try {
      b = await Deno.readFile(p);
    } catch {
      throw new DataFormatError(p, "(file)", `${want.bytes} bytes`, "missing or unreadable");
    }
    if (b.length !== want.bytes) throw new DataFormatError(p, "(size)", `${want.bytes} bytes`, `got ${b.length}`);
    if (sha256Hex(b) !== want.sha256) throw new DataFormatError(p, "(sha256)", want.sha256, "contents changed");
    files[f] = b;
  }
  return { dir, step: manifest.step, files };
}
