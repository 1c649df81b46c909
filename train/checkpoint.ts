/**
 * Training checkpoints, written so that a crash at any moment never leaves a half-written checkpoint as `latest`.
 *
 * Layout of a run directory:
 *   latest                       one line: the name of the newest complete checkpoint ("step-000200")
 *   adapter_config.json          the latest checkpoint's LoRA adapter as PEFT writes it (train/peft_adapter.ts)
 *   adapter_model.safetensors
 *   heads.safetensors            the latest checkpoint's correspondence heads (not part of the exported model)
 *   step-000200/
 *     adapter_config.json        LoRA config (PEFT LoraConfig fields)
 *     adapter_model.safetensors  LoRA A/B under PEFT keys (base_model.model.<module>.lora_A.weight)
 *     heads.safetensors          correspondence heads (correspondence_heads.{l}.fc1.weight, …)
 *     optimizer.safetensors      "<param>.exp_avg", "<param>.exp_avg_sq"; metadata {"step": t}
 *     config.json                the resolved TrainConfig
 *     state.json                 step, named RNG states (core/random.ts Rng.state()), base model reference, extra
 *     manifest.json              format, version, step, and per-file byte size + sha256 (written last)
 *
 * Commit protocol: write everything into "step-000200.tmp-<random>", fsync each file, rename the directory to
 * "step-000200" (atomic on one filesystem), fsync the run directory, and only then replace `latest` atomically.
 * A process killed before the rename leaves only a *.tmp-* directory, which the loader never reads; killed between
 * the rename and `latest`, the previous checkpoint stays latest.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { DataFormatError } from "../core/errors.ts";
import { writeFileAtomic } from "../core/io/atomic.ts";
import type { RngState } from "../core/random.ts";
import { parseTrainConfig, type TrainConfig } from "./config.ts";
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from "./safetensors.ts";
import type { KeyLayout } from "../core/model/hf_weights.ts";
import { joinAdapters, PEFT_FILES, peftAdapterConfig, splitAdapters } from "./peft_adapter.ts";

export const CHECKPOINT_FORMAT = "gasp-ts-checkpoint";
/** 2: the adapter in PEFT's format plus heads.safetensors (1 had one adapters.safetensors; still read). */
export const CHECKPOINT_VERSION = 2;
const FILES = [
  PEFT_FILES.config,
  PEFT_FILES.weights,
  PEFT_FILES.heads,
  "optimizer.safetensors",
  "config.json",
  "state.json",
] as const;
const FILES_V1 = ["adapters.safetensors", "optimizer.safetensors", "config.json", "state.json"] as const;

export interface TrainCheckpoint {
  step: number;
  config: TrainConfig;
  /**
   * The frozen base the adapters apply to: "tiny" or a model path, the sha256 of its weights if known, and the key
   * layout of its checkpoint (PEFT keys follow it; default "original").
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

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, "0")}`;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function writeSynced(path: string, bytes: Uint8Array): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
    await f.sync();
  } finally {
    f.close();
  }
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
  await Deno.mkdir(runDir, { recursive: true });
  const name = checkpointName(ck.step);
  const finalDir = join(runDir, name);
  const tmpDir = join(runDir, `${name}.tmp-${crypto.randomUUID().slice(0, 8)}`);
  await Deno.mkdir(tmpDir);
  const enc = new TextEncoder();
  const { lora, heads } = splitAdapters(ck.adapters, ck.base.keyLayout ?? "original");
  const contents: Record<(typeof FILES)[number], Uint8Array> = {
    [PEFT_FILES.config]: enc.encode(JSON.stringify(peftAdapterConfig(ck.config.lora, ck.base.model), null, 2) + "\n"),
    [PEFT_FILES.weights]: encodeSafetensors(lora, { format: "pt" }),
    [PEFT_FILES.heads]: encodeSafetensors(heads, { format: "pt" }),
    "optimizer.safetensors": encodeOptimizer(ck.optimizer),
    "config.json": enc.encode(JSON.stringify(ck.config, null, 2) + "\n"),
    "state.json": enc.encode(
      JSON.stringify({ step: ck.step, rng: ck.rng, base: ck.base, extra: ck.extra ?? {} }, null, 2) + "\n",
    ),
  };
  try {
    const files: Record<string, { bytes: number; sha256: string }> = {};
    for (const f of FILES) {
      await writeSynced(join(tmpDir, f), contents[f]);
      files[f] = { bytes: contents[f].length, sha256: sha256(contents[f]) };
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
      await Deno.rename(finalDir, old);
    }
    await Deno.rename(tmpDir, finalDir);
    await syncDir(runDir);
    await writeFileAtomic(join(runDir, "latest"), name + "\n");
    if (old) await Deno.remove(old, { recursive: true });
    // The run folder's top level holds the latest adapter where PEFT and the exporters look for it.
    for (const f of [PEFT_FILES.config, PEFT_FILES.weights, PEFT_FILES.heads]) {
      await writeFileAtomic(join(runDir, f), contents[f]);
    }
  } catch (e) {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
    throw e;
  }
  return finalDir;
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

/**
 * Loads and validates a checkpoint: `path` is a run directory (follows `latest`) or a step directory.
 * Every problem is a DataFormatError naming the file and field (or ConfigError for the config's content).
 */
export async function loadCheckpoint(path: string): Promise<TrainCheckpoint> {
  let dir = path;
  if (await exists(join(path, "latest"))) dir = (await latestCheckpointDir(path))!;
  const manifestPath = join(dir, "manifest.json");
  if (!(await exists(manifestPath))) {
    throw new DataFormatError(manifestPath, "(file)", "a manifest.json (is this a checkpoint directory?)", "missing");
  }
  const manifest = JSON.parse(await Deno.readTextFile(manifestPath));
  if (manifest.format !== CHECKPOINT_FORMAT) {
    throw new DataFormatError(manifestPath, "format", CHECKPOINT_FORMAT, String(manifest.format));
  }
  if (manifest.version !== CHECKPOINT_VERSION && manifest.version !== 1) {
    throw new DataFormatError(manifestPath, "version", String(CHECKPOINT_VERSION), String(manifest.version));
  }
  const bytes: Record<string, Uint8Array> = {};
  const files = manifest.version === 1 ? FILES_V1 : FILES;
  for (const f of files) {
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
    if (sha256(b) !== want.sha256) throw new DataFormatError(p, "(sha256)", want.sha256, "contents changed");
    bytes[f] = b;
  }
  const dec = new TextDecoder();
  const statePath = join(dir, "state.json");
  const state = JSON.parse(dec.decode(bytes["state.json"]));
  if (!Number.isInteger(state.step) || state.step !== manifest.step) {
    throw new DataFormatError(statePath, "step", `integer equal to manifest step ${manifest.step}`, String(state.step));
  }
  for (const [k, s] of Object.entries(state.rng ?? {})) {
    if (!Array.isArray(s) || s.length !== 4 || !s.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)) {
      throw new DataFormatError(statePath, `rng.${k}`, "four u32 words (Rng.state())", JSON.stringify(s));
    }
  }
  if (typeof state.base?.model !== "string") throw new DataFormatError(statePath, "base.model", "string");
  const config = parseTrainConfig(JSON.parse(dec.decode(bytes["config.json"])), join(dir, "config.json"));
  const adapters = manifest.version === 1
    ? decodeSafetensors(bytes["adapters.safetensors"], join(dir, "adapters.safetensors")).tensors
    : joinAdapters(
      decodeSafetensors(bytes[PEFT_FILES.weights], join(dir, PEFT_FILES.weights)).tensors,
      decodeSafetensors(bytes[PEFT_FILES.heads], join(dir, PEFT_FILES.heads)).tensors,
      join(dir, PEFT_FILES.weights),
    );
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
      throw new DataFormatError(optPath, `${k}.exp_avg`, "a state for a parameter of the adapter or heads");
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
