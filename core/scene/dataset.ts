/**
 * The synthetic correspondence dataset behind `deno task data`: scenes → rendered frames → App. A annotation →
 * shards. Three splits from disjoint scenes (each scene belongs to exactly one split):
 *   train       F ∈ [8, 24] frames (uniform), anchor + F − 1 frames in the window R = 48 (Sec 5.2).
 *   heldout     F = 8 frames, same window sampling: the paper's 200-sequence evaluation set (Sec 5.3).
 *   robustness  25 consecutive frames t_a … t_a + 24, so every gap Δt = 1 … 24 to the anchor occurs exactly once
 *               per sequence (the temporal-robustness curve, Sec 5.3 (3)).
 * Several sequences are cut from each scene's 96-frame video (only the frames they use are rendered).
 */
import { ConfigError } from "../errors.ts";
import { Rng } from "../random.ts";
import { join } from "node:path";
import { MotionAccumulator, type MotionSummary } from "../analysis/motion.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { annotateSequence, sampleSequenceFrames, TOKEN_PX, WINDOW_RADIUS } from "./annotate.ts";
import { describeScene, generateScene, RenderPool, renderVideo } from "./generate.ts";
import { type Manifest, ShardWriter, type Split } from "./shards.ts";
import type { CorrespondenceSequence, Frame, PatchGrid } from "./types.ts";

/** What {@linkcode generateDataset} renders: split sizes, sequence lengths, grid and video settings. */
export interface DatasetConfig {
  /** Master seed: every scene, frame choice and negative follows from it. */
  seed: number;
  /** Sequences in the train split. */
  trainSequences: number;
  /** Sequences in the held-out split (8 frames each). */
  heldoutSequences: number;
  /** Sequences in the robustness split (25 consecutive frames each; 0: none). */
  robustnessSequences: number;
  /** Frames per held-out sequence (8, as the paper's evaluation). */
  heldoutFrames: number;
  /** Train sequence length range (inclusive; Sec 5.2: 8 to 24). */
  trainFramesMin: number;
  /** Longest train sequence. */
  trainFramesMax: number;
  /** Largest anchor gap in the robustness split (24, Fig 3 c/f). */
  robustnessMaxGap: number;
  /** Token grid side N: N × N tokens per frame, frames rendered at 28·N px (8: 224², 16: 448², 24: 672²). */
  grid: number;
  /** Frames per synthetic video (96: sequences with the full ±48 window exist). */
  videoLength: number;
  /** App. A's window radius R around the anchor (48). */
  windowRadius: number;
  /** Sequences cut from one scene's video. */
  sequencesPerScene: number;
  /** Render workers. */
  workers: number;
}

/** `deno task data`'s defaults; each value's comment says why. */
export const DEFAULT_DATASET: DatasetConfig = {
  seed: 0,
  // Train: enough for a smoke-scale run with the no-flag task finishing in a few minutes on 2 shared cores;
  // scale with --sequences. Held-out: the paper's 200 sequences of 8 frames. Robustness: 16 × 24 anchor gaps.
  trainSequences: 120,
  heldoutSequences: 200,
  robustnessSequences: 16,
  heldoutFrames: 8,
  trainFramesMin: 8,
  trainFramesMax: 24,
  robustnessMaxGap: 24,
  // 8 × 8 (224²) keeps `deno task train` with no flags inside its 20 minutes; --grid 16 (448²) is the setting where
  // chance at δ = 2 falls below 5 % (3.2 %), at 4× the render time and tokens.
  grid: 8,
  videoLength: 96,
  windowRadius: WINDOW_RADIUS,
  sequencesPerScene: 4,
  workers: 2,
};

/** Progress after each written sequence. */
export interface DatasetProgress {
  /** The split being written. */
  split: Split;
  /** Sequences of that split written so far. */
  sequencesDone: number;
  /** Sequences the split will have. */
  sequencesTotal: number;
  /** Frames rendered so far, all splits. */
  framesRendered: number;
}

/** What {@linkcode generateDataset} wrote. */
export interface DatasetResult {
  /** The manifest written beside the shards. */
  manifest: Manifest;
  /** The first held-out sequence (or first of any split), for --export / --preview. */
  sample: CorrespondenceSequence | null;
  /** Frames rendered in total. */
  framesRendered: number;
  /** Per split: how far the points move and what the stationary prediction scores (core/analysis/motion.ts). */
  motion: Partial<Record<Split, MotionSummary>>;
}

/** Largest grid side accepted (64 × 64 tokens = 1792² px frames). */
export const MAX_GRID = 64;

/** The token grid of side N: N × N tokens of 28 px (two 14-px patches merged 2 × 2). */
export function gridFor(side: number): PatchGrid {
  if (!(Number.isInteger(side) && side >= 2 && side <= MAX_GRID)) {
    throw new ConfigError("grid", `an integer number of tokens per side in 2..${MAX_GRID}, got ${side}`);
  }
  return { rows: side, cols: side, patchSize: TOKEN_PX };
}

/** File beside manifest.json holding DatasetResult.motion. */
export const MOTION_FILE = "motion.json";

interface PlannedSequence {
  id: string;
  frameIndices: number[];
  seed: number;
}

interface PlannedScene {
  split: Split;
  sceneId: string;
  sceneSeed: number;
  sequences: PlannedSequence[];
}

/** NaN/±Infinity → null in JSON. */
function jsonNumbers(_k: string, v: unknown): unknown {
  return typeof v === "number" && !Number.isFinite(v) ? null : v;
}

/** Decide every scene and every sequence's frame indices up front (pure function of the config). */
export function planDataset(cfg: DatasetConfig): PlannedScene[] {
  gridFor(cfg.grid);
  if (cfg.trainFramesMin < 2 || cfg.trainFramesMax < cfg.trainFramesMin) {
    throw new ConfigError("train frames", `need 2 ≤ min ≤ max, got ${cfg.trainFramesMin}..${cfg.trainFramesMax}`);
  }
  if (cfg.robustnessMaxGap + 1 > cfg.videoLength) throw new ConfigError("robustnessMaxGap", "longer than the video");
  const master = new Rng(cfg.seed);
  const used = new Set<number>();
  const plan: PlannedScene[] = [];
  const counts: [Split, number][] = [
    ["heldout", cfg.heldoutSequences],
    ["robustness", cfg.robustnessSequences],
    ["train", cfg.trainSequences],
  ];
  for (const [split, total] of counts) {
    const splitRng = new Rng(master.u32());
    for (let done = 0, s = 0; done < total; s++) {
      let sceneSeed = splitRng.u32();
      while (used.has(sceneSeed)) sceneSeed = splitRng.u32(); // scenes never shared between splits
      used.add(sceneSeed);
      const sceneId = `${split}-scene-${String(s).padStart(4, "0")}`;
      const rng = new Rng(sceneSeed ^ 0x51ed270b);
      const sequences: PlannedSequence[] = [];
      for (let k = 0; k < cfg.sequencesPerScene && done < total; k++, done++) {
        let frameIndices: number[];
        if (split === "robustness") {
          const t0 = rng.int(cfg.videoLength - cfg.robustnessMaxGap);
          frameIndices = Array.from({ length: cfg.robustnessMaxGap + 1 }, (_, i) => t0 + i);
        } else {
          const F = split === "heldout"
            ? cfg.heldoutFrames
            : cfg.trainFramesMin + rng.int(cfg.trainFramesMax - cfg.trainFramesMin + 1);
          frameIndices = sampleSequenceFrames(rng, cfg.videoLength, F, cfg.windowRadius);
        }
        sequences.push({ id: `${sceneId}-seq-${k}`, frameIndices, seed: rng.u32() });
      }
      plan.push({ split, sceneId, sceneSeed, sequences });
    }
  }
  return plan;
}

/**
 * Generate, annotate and write the whole dataset into `outDir` (shards + manifest.json).
 *
 * @example A small dataset (what `deno task data` writes with smaller splits)
 * ```ts
 * import { DEFAULT_DATASET, generateDataset, readShards } from "@gasp/gasp-ts";
 * const cfg = { ...DEFAULT_DATASET, trainSequences: 8, heldoutSequences: 8, robustnessSequences: 0 };
 * const r = await generateDataset("runs/data-small", cfg, (p) => console.log(p.split, p.sequencesDone));
 * console.log(r.manifest.splits);
 * for await (const seq of readShards("runs/data-small", "heldout")) console.log(seq.id, seq.tracks.length);
 * ```
 */
export async function generateDataset(
  outDir: string,
  cfg: DatasetConfig,
  onProgress: (p: DatasetProgress) => void = () => {},
): Promise<DatasetResult> {
  const plan = planDataset(cfg);
  const grid = gridFor(cfg.grid);
  const side = grid.rows * grid.patchSize;
  const writer = new ShardWriter(outDir, { seed: cfg.seed, generator: { ...cfg, imageSize: side, kind: "synthetic" } });
  const pool = cfg.workers > 0 ? new RenderPool(cfg.workers) : undefined;
  const totals = new Map<Split, number>();
  const done = new Map<Split, number>();
  for (const p of plan) totals.set(p.split, (totals.get(p.split) ?? 0) + p.sequences.length);
  let framesRendered = 0;
  const motion = new Map<Split, MotionAccumulator>();
  let sample: CorrespondenceSequence | null = null;
  const render = async (p: PlannedScene) => {
    const scene = generateScene(p.sceneSeed, { videoLength: cfg.videoLength, id: p.sceneId });
    const unique = [...new Set(p.sequences.flatMap((s) => s.frameIndices))].sort((a, b) => a - b);
    const frames = await renderVideo(scene, scene.trajectory, {
      width: side,
      height: side,
      frames: unique,
      workers: cfg.workers,
      pool,
    });
    const byIndex = new Map<number, Frame>(unique.map((f, k) => [f, frames[k]]));
    return { scene, byIndex };
  };
  try {
    let next = plan.length > 0 ? render(plan[0]) : null;
    for (let i = 0; i < plan.length; i++) {
      const p = plan[i];
      const { scene, byIndex } = await next!;
      next = i + 1 < plan.length ? render(plan[i + 1]) : null; // render ahead while this scene is annotated/written
      framesRendered += byIndex.size;
      for (const s of p.sequences) {
        const seq = annotateSequence(
          s.frameIndices.map((f) => byIndex.get(f)!),
          s.frameIndices,
          grid,
          new Rng(s.seed),
          {
            id: s.id,
            sceneId: p.sceneId,
            scene: describeScene(scene),
          },
        );
        await writer.add(p.split, seq);
        if (!motion.has(p.split)) motion.set(p.split, new MotionAccumulator());
        motion.get(p.split)!.add(seq);
        sample ??= seq; // the plan starts with the held-out split
        done.set(p.split, (done.get(p.split) ?? 0) + 1);
        onProgress({
          split: p.split,
          sequencesDone: done.get(p.split)!,
          sequencesTotal: totals.get(p.split)!,
          framesRendered,
        });
      }
    }
    const manifest = await writer.finish();
    const summary = Object.fromEntries([...motion].map(([k, m]) => [k, m.result()]));
    await writeFileAtomic(join(outDir, MOTION_FILE), JSON.stringify(summary, jsonNumbers, 2) + "\n");
    return { manifest, sample, framesRendered, motion: summary };
  } finally {
    pool?.close();
  }
}
