/**
 * Training checkpoints, written so that a crash at any moment never leaves a half-written checkpoint as `latest`.
 * The layout of a run directory and its step checkpoints is core/model/folder/checkpoint_files.ts (RNG states are
 * core/random.ts Rng.state()). Beside the step checkpoints, the run folder's top level holds the latest LoRA adapter as
 * PEFT writes it (adapter_config.json + adapter_model.safetensors, train/peft_adapter.ts) and the latest
 * correspondence heads (heads.safetensors), where PEFT and the exporters look for them.
 *
 * Commit protocol: write everything into "step-000200.tmp-<random>", fsync each file, rename the directory to
 * "step-000200" (atomic on one filesystem), fsync the run directory, and only then replace `latest` atomically.
 * A process killed before the rename leaves only a *.tmp-* directory, which the loader never reads; killed between
 * the rename and `latest`, the previous checkpoint stays latest.
 */
import { join } from "node:path";
import { DataFormatError } from "../core/errors.ts";
import { withPath, writeFileAtomic } from "../core/io/atomic.ts";
import {
  CHECKPOINT_FILES,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  checkpointName,
  readCheckpointFiles,
  sha256Hex,
} from "../core/model/folder/checkpoint_files.ts";
import type { RngState } from "../core/random.ts";
import { parseTrainConfig, type TrainConfig } from "./config.ts";
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from "../core/io/safetensors.ts";
import type { KeyLayout } from "../core/model/hf_weights.ts";
import { PEFT_FILES, peftAdapterConfig, splitAdapters } from "./peft_adapter.ts";

export interface TrainCheckpoint {
  step: number;
  config: TrainConfig;
  /**
   * The frozen base the adapters apply to: "tiny" or a model path, the sha256 of its weights if known, and its
   * checkpoint's key layout (the PEFT adapter's keys follow it; default "original").
   */
  base: { model: string; sha256?: string; keyLayout?: KeyLayout };
  /** Named RNG streams (e.g. data order, dropout), each Rng.state(). */
  rng: Record<string, RngState>;
  /** LoRA and head weights by name. */
  adapters: Map<string, NamedTensor>;
  /** AdamW moments by parameter name, and its step count t. */
  optimizer: { step: number; expAvg: Map<string, NamedTensor>; expAvgSq: Map<string, NamedTensor> };
  /** Anything else the loop needs to resume exactly (data cursor, tokens seen, …); must be JSON. */
  extra?: Record<string, unknown>;
}

export interface SaveHooks {
  /** Called after each file is written into the temporary directory (tests throw here to simulate a crash). */
  afterFile?: (name: string) => void | Promise<void>;
}

/** Writes and fsyncs one file; a failure (disk full, permission denied) is an IoError naming the file. */
async function writeSynced(path: string, bytes: Uint8Array): Promise<void> {
  await withPath(path, "write checkpoint file", async () => {
    const f = await Deno.open(path, { write: true, create: true, truncate: true });
    try {
      let off = 0;
      while (off < bytes.length) off += await f.write(bytes.subarray(off));
      await f.sync();
    } finally {
      f.close();
    }
  });
}

async function syncDir(path: string): Promise<void> {
  try {
    const d = await Deno.open(path, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // Some platforms cannot open or fsync a directory; the rename is still atomic there.
  }
}

function encodeOptimizer(o: TrainCheckpoint["optimizer"]): Uint8Array {
  const t = new Map<string, NamedTensor>();
  for (const [k, v] of o.expAvg) t.set(`${k}.exp_avg`, v);
  for (const [k, v] of o.expAvgSq) t.set(`${k}.exp_avg_sq`, v);
  return encodeSafetensors(t, { step: String(o.step) });
}

/** Writes checkpoint `ck` under runDir and makes it latest; returns its directory. */
export async function saveCheckpoint(runDir: string, ck: TrainCheckpoint, hooks: SaveHooks = {}): Promise<string> {
  const name = checkpointName(ck.step);
  const finalDir = join(runDir, name);
  const tmpDir = join(runDir, `${name}.tmp-${crypto.randomUUID().slice(0, 8)}`);
  await withPath(tmpDir, "create checkpoint folder", () => Deno.mkdir(tmpDir, { recursive: true }));
  const enc = new TextEncoder();
  const contents: Record<(typeof CHECKPOINT_FILES)[number], Uint8Array> = {
    "adapters.safetensors": encodeSafetensors(ck.adapters, { format: "pt" }),
    "optimizer.safetensors": encodeOptimizer(ck.optimizer),
    "config.json": enc.encode(JSON.stringify(ck.config, null, 2) + "\n"),
    "state.json": enc.encode(
      JSON.stringify({ step: ck.step, rng: ck.rng, base: ck.base, extra: ck.extra ?? {} }, null, 2) + "\n",
    ),
  };
  try {
    const files: Record<string, { bytes: number; sha256: string }> = {};
    for (const f of CHECKPOINT_FILES) {
      await writeSynced(join(tmpDir, f), contents[f]);
      files[f] = { bytes: contents[f].length, sha256: sha256Hex(contents[f]) };
      await hooks.afterFile?.(f);
    }
    const manifest = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, step: ck.step, files };
    await writeSynced(join(tmpDir, "manifest.json"), enc.encode(JSON.stringify(manifest, null, 2) + "\n"));
    await hooks.afterFile?.("manifest.json");
    await syncDir(tmpDir);
    // Re-saving the same step: move the old one aside first (rename cannot replace a non-empty directory).
    let old: string | null = null;
    if (await exists(finalDir)) {
      old = `${finalDir}.old-${crypto.randomUUID().slice(0, 8)}`;
      await withPath(finalDir, `move aside to ${old}`, () => Deno.rename(finalDir, old!));
    }
    await withPath(finalDir, `rename ${tmpDir} to`, () => Deno.rename(tmpDir, finalDir));
    await syncDir(runDir);
    await writeFileAtomic(join(runDir, "latest"), name + "\n");
    if (old) await Deno.remove(old, { recursive: true });
    await writePeftFiles(runDir, ck);
  } catch (e) {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
    throw e;
  }
  return finalDir;
}

/** The run's top-level PEFT adapter and heads files, for a run with LoRA (a base run trains no adapter). */
async function writePeftFiles(runDir: string, ck: TrainCheckpoint): Promise<void> {
  const { lora, heads } = splitAdapters(ck.adapters, ck.base.keyLayout ?? "original");
  if (lora.size === 0) return;
  const config = peftAdapterConfig(ck.config.lora, ck.base.model);
  await writeFileAtomic(join(runDir, PEFT_FILES.weights), encodeSafetensors(lora, { format: "pt" }));
  await writeFileAtomic(join(runDir, PEFT_FILES.heads), encodeSafetensors(heads, { format: "pt" }));
  await writeFileAtomic(join(runDir, PEFT_FILES.config), JSON.stringify(config, null, 2) + "\n");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Loads and validates a checkpoint: `path` is a run directory (follows `latest`) or a step directory.
 * Every problem is a DataFormatError naming the file and field (or ConfigError for the config's content).
 */
export async function loadCheckpoint(path: string): Promise<TrainCheckpoint> {
  const { dir, step, files: bytes } = await readCheckpointFiles(path);
  const dec = new TextDecoder();
  const statePath = join(dir, "state.json");
  const state = JSON.parse(dec.decode(bytes["state.json"]));
  if (!Number.isInteger(state.step) || state.step !== step) {
    throw new DataFormatError(statePath, "step", `integer equal to manifest step ${step}`, String(state.step));
  }
  for (const [k, s] of Object.entries(state.rng ?? {})) {
    if (!Array.isArray(s) || s.length !== 4 || !s.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)) {
      throw new DataFormatError(statePath, `rng.${k}`, "four u32 words (Rng.state())", JSON.stringify(s));
    }
  }
  if (typeof state.base?.model !== "string") throw new DataFormatError(statePath, "base.model", "string");
  const config = parseTrainConfig(JSON.parse(dec.decode(bytes["config.json"])), join(dir, "config.json"));
  const adapters = decodeSafetensors(bytes["adapters.safetensors"], join(dir, "adapters.safetensors")).tensors;
  const optPath = join(dir, "optimizer.safetensors");
  const opt = decodeSafetensors(bytes["optimizer.safetensors"], optPath);
  const optStep = Number(opt.metadata.step);
  if (!Number.isInteger(optStep) || optStep < 0) throw new DataFormatError(optPath, "__metadata__.step", "integer ≥ 0");
  const expAvg = new Map<string, NamedTensor>();
  const expAvgSq = new Map<string, NamedTensor>();
  for (const [k, v] of opt.tensors) {
    if (k.endsWith(".exp_avg_sq")) expAvgSq.set(k.slice(0, -".exp_avg_sq".length), v);
    else if (k.endsWith(".exp_avg")) expAvg.set(k.slice(0, -".exp_avg".length), v);
    else throw new DataFormatError(optPath, k, "a name ending in .exp_avg or .exp_avg_sq");
  }
  for (const k of expAvg.keys()) {
    if (!expAvgSq.has(k)) throw new DataFormatError(optPath, `${k}.exp_avg_sq`, "present (paired with exp_avg)");
    if (!adapters.has(k)) {
      throw new DataFormatError(optPath, `${k}.exp_avg`, "a state for a parameter in adapters.safetensors");
    }
  }
  return {
    step: state.step,
    config,
    base: state.base,
    rng: state.rng ?? {},
    adapters,
    optimizer: { step: optStep, expAvg, expAvgSq },
    extra: state.extra ?? {},
  };
}
