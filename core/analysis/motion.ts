/**
 * How much the held-out points move, and what "the point did not move" scores: the trivial baseline every
 * correspondence number must beat (issue 13).
 *
 * Pairs are exactly the ones the analysis scores (analyze.ts `scoredQueries`): each track with a valid frame-0 patch q
 * and each later frame k where it is visible (ground-truth patch gt). Per pair:
 *   stationary prediction = q (the query's own token) and it is correct iff isCorrectMatch(q, gt) under the PCK
 *   threshold (PCK@2: the 3 × 3 neighbourhood); a pair is "moved" iff that prediction is wrong;
 *   displacement = ‖p_k − p_0‖ / patchSize, the track's pixel motion in tokens (continuous, not cell indices).
 * Aggregates follow analyze.ts: stationaryPck is the mean over sequences of per-sequence PCK (macro) with its
 * population std; movedFraction and the Δt table are pooled over all pairs.
 */
import { ShapeMismatchError } from "../errors.ts";
import type { CorrespondenceSequence, PatchGrid } from "../scene/types.ts";
import { correctCellCount, DEFAULT_PCK_THRESHOLD, isCorrectMatch, type PckThreshold } from "./pck.ts";
import { meanOf, stdOf } from "./stats.ts";

/** One scored pair of a sequence. */
export interface MotionPair {
  /** Track index (row of targetPatch). */
  track: number;
  /** Target frame (1 … F−1) within the sequence. */
  frame: number;
  /** Frame-0 patch (the query) and ground-truth patch in `frame`. */
  query: number;
  /** Ground-truth patch in `frame`. */
  gt: number;
  /** |frameIndices[frame] − frameIndices[0]| in source-video frames. */
  dt: number;
  /** Pixel motion of the track from frame 0 to `frame`, in tokens (patchSize pixels). */
  displacement: number;
  /** Whether predicting the query's own token is correct under the threshold. */
  stationaryCorrect: boolean;
}

/** Δt ranges of the motion table (inclusive); the last one is open-ended. */
export const MOTION_DT_BINS: [number, number][] = [
  [1, 2],
  [3, 4],
  [5, 8],
  [9, 12],
  [13, 16],
  [17, 24],
  [25, 32],
  [33, 48],
  [49, Infinity],
];

/** The scored pairs of one sequence with their motion and the stationary prediction's correctness. */
export function motionPairs(
  seq: CorrespondenceSequence,
  threshold: PckThreshold = DEFAULT_PCK_THRESHOLD,
): MotionPair[] {
  const F = seq.frames.length;
  const P = seq.grid.rows * seq.grid.cols;
  if (seq.targetPatch.length !== seq.tracks.length * F) {
    throw new ShapeMismatchError("motionPairs", `targetPatch has ${seq.targetPatch.length}, want tracks·F`);
  }
  const out: MotionPair[] = [];
  for (let t = 0; t < seq.tracks.length; t++) {
    const q = seq.targetPatch[t * F];
    if (q < 0 || q >= P) continue;
    const p0 = seq.tracks[t].points[0];
    for (let k = 1; k < F; k++) {
      const gt = seq.targetPatch[t * F + k];
      if (gt < 0 || gt >= P) continue;
      const pk = seq.tracks[t].points[k];
      const displacement = p0 && pk ? Math.hypot(pk[0] - p0[0], pk[1] - p0[1]) / seq.grid.patchSize : NaN;
      out.push({
        track: t,
        frame: k,
        query: q,
        gt,
        dt: Math.abs(seq.frameIndices[k] - seq.frameIndices[0]),
        displacement,
        stationaryCorrect: isCorrectMatch(q, gt, seq.grid.cols, threshold),
      });
    }
  }
  return out;
}

/** One row of the motion table. */
export interface MotionBin {
  /** Smallest Δt of the bin. */
  dtMin: number;
  /** null for the open-ended last bin. */
  dtMax: number | null;
  /** Pairs in the bin. */
  pairs: number;
  /** Median displacement in tokens (NaN without pairs). */
  medianDisplacement: number;
  /** Pooled stationary PCK of the bin's pairs. */
  stationaryPck: number;
}

/** Motion and stationary-baseline summary of a split. */
export interface MotionSummary {
  /** The token grid. */
  grid: { rows: number; cols: number };
  /** The PCK threshold of the stationary scores. */
  threshold: PckThreshold;
  /** Sequences summarised. */
  numSequences: number;
  /** (query, target frame) pairs. */
  numPairs: number;
  /** Macro over sequences (sequences without pairs skipped), and its population std. */
  stationaryPck: number;
  /** Its std over sequences. */
  stationaryPckStd: number;
  /** Pooled over pairs. */
  stationaryPooledPck: number;
  /** Fraction of pairs where the stationary prediction is wrong (the "moved" pairs), pooled. */
  movedFraction: number;
  /** Analytic chance PCK of a uniformly random argmax for the same ground truths, macro over sequences. */
  chancePck: number;
  /** Median displacement of the tracked points from frame 0, in tokens. */
  medianDisplacement: number;
  /** The same by Δt bin (MOTION_DT_BINS). */
  byDeltaT: MotionBin[];
}

/** Streams sequences into a MotionSummary. */
export class MotionAccumulator {
  #seqStationary: number[] = [];
  #seqChance: number[] = [];
  #grid: PatchGrid | null = null;
  #pairs = 0;
  #stationaryCorrect = 0;
  #displacements: number[] = [];
  #bins = MOTION_DT_BINS.map(() => ({ disp: [] as number[], pairs: 0, correct: 0 }));

  /** An empty summary scoring the stationary prediction under `threshold`. */
  constructor(readonly threshold: PckThreshold = DEFAULT_PCK_THRESHOLD) {}

  /** Adds one sequence's pairs; returns them. */
  add(seq: CorrespondenceSequence): MotionPair[] {
    this.#grid ??= seq.grid;
    const pairs = motionPairs(seq, this.threshold);
    const P = seq.grid.rows * seq.grid.cols;
    let correct = 0;
    let chance = 0;
    for (const p of pairs) {
      if (p.stationaryCorrect) correct++;
      chance += correctCellCount(p.gt, seq.grid, this.threshold) / P;
      if (!Number.isNaN(p.displacement)) this.#displacements.push(p.displacement);
      const b = MOTION_DT_BINS.findIndex(([lo, hi]) => p.dt >= lo && p.dt <= hi);
      if (b < 0) continue; // Δt = 0 (a repeated frame index): no bin
      const bin = this.#bins[b];
      bin.pairs++;
      if (p.stationaryCorrect) bin.correct++;
      if (!Number.isNaN(p.displacement)) bin.disp.push(p.displacement);
    }
    this.#pairs += pairs.length;
    this.#stationaryCorrect += correct;
    this.#seqStationary.push(pairs.length ? correct / pairs.length : NaN);
    this.#seqChance.push(pairs.length ? chance / pairs.length : NaN);
    return pairs;
  }

  /** The summary of every sequence added. */
  result(): MotionSummary {
    const g = this.#grid ?? { rows: 0, cols: 0 };
    return {
      grid: { rows: g.rows, cols: g.cols },
      threshold: this.threshold,
      numSequences: this.#seqStationary.length,
      numPairs: this.#pairs,
      stationaryPck: meanOf(this.#seqStationary),
      stationaryPckStd: stdOf(this.#seqStationary),
      stationaryPooledPck: this.#pairs ? this.#stationaryCorrect / this.#pairs : NaN,
      movedFraction: this.#pairs ? 1 - this.#stationaryCorrect / this.#pairs : NaN,
      chancePck: meanOf(this.#seqChance),
      medianDisplacement: median(this.#displacements),
      byDeltaT: MOTION_DT_BINS.map(([lo, hi], i) => {
        const b = this.#bins[i];
        return {
          dtMin: lo,
          dtMax: Number.isFinite(hi) ? hi : null,
          pairs: b.pairs,
          medianDisplacement: median(b.disp),
          stationaryPck: b.pairs ? b.correct / b.pairs : NaN,
        };
      }).filter((b) => b.pairs > 0),
    };
  }
}

/** Median (mean of the two middle values for even n); NaN when empty. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The motion table as Markdown-ish text lines (what `deno task data` and `deno task eval` print). */
export function motionTableLines(m: MotionSummary): string[] {
  const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : "—");
  const num = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "—");
  const lines = [
    `${m.grid.rows}×${m.grid.cols} grid, ${m.numSequences} sequences, ${m.numPairs} pairs: stationary PCK@` +
    `${m.threshold.delta} ${pct(m.stationaryPck)} ± ${pct(m.stationaryPckStd)} (std over sequences), moved ` +
    `${pct(m.movedFraction)}, chance ${pct(m.chancePck)}, median displacement ${num(m.medianDisplacement)} tokens`,
    "| Δt | pairs | median displacement (tokens) | stationary PCK |",
    "| --- | --- | --- | --- |",
  ];
  for (const b of m.byDeltaT) {
    const dt = b.dtMax === null ? `≥ ${b.dtMin}` : b.dtMin === b.dtMax ? `${b.dtMin}` : `${b.dtMin}-${b.dtMax}`;
    lines.push(`| ${dt} | ${b.pairs} | ${num(b.medianDisplacement)} | ${pct(b.stationaryPck)} |`);
  }
  return lines;
}
