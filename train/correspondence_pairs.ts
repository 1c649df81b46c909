/**
 * Correspondence pairs (Eq 5's p_i^a, p_i^b): which anchor point of which frame must match which patch of which other
 * frame, built from a sequence's tracks. Training (train/samples.ts), the losses (train/losses.ts) and their f64
 * reference (train/reference/losses.ts) all read them.
 */
import { ShapeMismatchError } from "../core/errors.ts";
import type { CorrespondenceSequence } from "../core/scene/types.ts";

/** One anchor point i of frame a and its positive patch in target frame b (Eq 5's p_i^a, p_i^b). */
export interface CorrespondencePair {
  anchorFrame: number;
  anchorPatch: number;
  targetFrame: number;
  targetPatch: number;
  /** d_i^b of Eq 8: the track's depth (camera z, metres) in frame b; NaN if unknown (excluded from L_depth). */
  targetDepth: number;
}

/**
 * All (anchor, target frame) pairs of a sequence: for each track, its anchor frame a (track.anchorFrame) and every
 * other frame b where the track is visible in both (targetPatch ≥ 0). targetPatch[t · F + f] as in core/scene/types.
 */
export function correspondencePairs(
  seq: Pick<CorrespondenceSequence, "frames" | "tracks" | "targetPatch">,
): CorrespondencePair[] {
  const F = seq.frames.length;
  if (seq.targetPatch.length !== seq.tracks.length * F) {
    throw new ShapeMismatchError(
      "correspondencePairs",
      `targetPatch ${seq.targetPatch.length} vs tracks·F ${seq.tracks.length * F}`,
    );
  }
  const pairs: CorrespondencePair[] = [];
  seq.tracks.forEach((track, t) => {
    const a = track.anchorFrame;
    const anchorPatch = seq.targetPatch[t * F + a];
    if (anchorPatch < 0) return;
    for (let b = 0; b < F; b++) {
      if (b === a) continue;
      const targetPatch = seq.targetPatch[t * F + b];
      if (targetPatch < 0) continue;
      const dep = track.depths[b];
      pairs.push({ anchorFrame: a, anchorPatch, targetFrame: b, targetPatch, targetDepth: dep ?? NaN });
    }
  });
  return pairs;
}

/**
 * Which patches compete with the positive in Eq 5's denominator:
 *   "target-frame" — all P patches of the target frame b (Eq 5 as written; also Eq 6's candidates),
 *   "all-frames"   — every patch of every frame except the anchor patch itself (Sec 5.1: "negative patches from all
 *                    frames except the anchor patch to maximize diversity").
 */
export type NegativeSet = "target-frame" | "all-frames";
