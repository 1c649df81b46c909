/**
 * The loop's state ↔ a checkpoint (train/checkpoint.ts): trainable tensors, AdamW moments and per-parameter step
 * counts, and the named RNG streams ("data": items, "dropout": LoRA masks). Restoring all of them makes a resumed run
 * replay exactly the steps an uninterrupted one takes (tests/train/loop_test.ts).
 */
import type * as op from "../core/ops/mod.ts";
import { Rng, type Tensor } from "../core/runtime.ts";
import type { NamedTensor } from "../core/io/safetensors.ts";
import { ConfigError, DataFormatError } from "../core/errors.ts";
import { loadCheckpoint, type TrainCheckpoint } from "./checkpoint.ts";
import type { TrainConfig } from "./config.ts";
import type { KeyLayout } from "../core/model/hf_weights.ts";

/** The RNG streams that advance during training (init draws happen before step 1 and are replayed from the seed). */
export interface TrainRngs {
  data: Rng;
  dropout: Rng;
}

export interface TrainState {
  step: number;
  config: TrainConfig;
  base: { model: string; keyLayout?: KeyLayout };
  params: Tensor[];
  optimizer: op.AdamW;
  rngs: TrainRngs;
}

/** Reads the loop's state back from the GPU into a checkpoint record. */
export async function packCheckpoint(s: TrainState): Promise<TrainCheckpoint> {
  const st = await s.optimizer.exportState();
  const adapters = new Map<string, NamedTensor>();
  for (const t of s.params) adapters.set(t.name, { shape: [...t.shape], data: await t.toArray() });
  const moments = (xs: Float32Array[]) =>
    new Map(st.names.map((n, i) => [n, { shape: [...s.params[i].shape], data: xs[i] }]));
  return {
    step: s.step,
    config: s.config,
    base: s.base,
    rng: { data: s.rngs.data.state(), dropout: s.rngs.dropout.state() },
    adapters,
    optimizer: { step: Math.max(0, ...st.steps), expAvg: moments(st.m), expAvgSq: moments(st.v) },
    extra: { optimizerSteps: st.steps },
  };
}

/**
 * Loads the checkpoint at `path` (a run folder's latest or a step folder) into `params` and `optimizer`, and returns
 * its step and RNG streams. The run's config must equal the checkpoint's: resuming with other settings would not
 * replay the same run.
 */
export async function restoreCheckpoint(
  path: string,
  config: TrainConfig,
  params: Tensor[],
  optimizer: op.AdamW,
): Promise<{ step: number; rngs: TrainRngs }> {
  const ck = await loadCheckpoint(path);
  if (JSON.stringify(ck.config) !== JSON.stringify(config)) {
    throw new ConfigError("--resume", `checkpoint config differs from this run's config; resume with the same flags`);
  }
  for (const p of params) {
    const t = ck.adapters.get(p.name);
    if (!t || t.data.length !== p.size) throw new DataFormatError(path, p.name, `${p.size} values`);
    p.write(t.data);
  }
  const steps = (ck.extra?.optimizerSteps as number[] | undefined) ?? params.map(() => ck.optimizer.step);
  const moment = (m: Map<string, NamedTensor>, p: Tensor) =>
    Float32Array.from(m.get(p.name)?.data ?? new Float32Array(p.size));
  optimizer.importState({
    names: params.map((p) => p.name),
    steps,
    m: params.map((p) => moment(ck.optimizer.expAvg, p)),
    v: params.map((p) => moment(ck.optimizer.expAvgSq, p)),
  });
  return { step: ck.step, rngs: { data: Rng.fromState(ck.rng.data), dropout: Rng.fromState(ck.rng.dropout) } };
}
