/**
 * PCK@δ in patch-grid coordinates (Sec 5.3 "Layer-wise Correspondence Matching", App. C).
 *
 * Patch index p on a grid with `cols` columns sits at (row, col) = (⌊p / cols⌋, p mod cols); the error of a
 * prediction is the Euclidean distance d = ‖(r_gt, c_gt) − (r_pred, c_pred)‖₂ in patches.
 *
 * The paper phrases the threshold two ways: Sec 5.3 says a point is correct if its distance is "within an error
 * threshold of δ = 2 feature patches" (reads as d ≤ δ), App. C defines correct as "d < 2". We follow App. C, the
 * exact protocol: correct ⇔ d < δ (strict) by default; `inclusive: true` gives d ≤ δ. On an integer grid with δ = 2
 * the strict rule accepts the 3 × 3 neighbourhood (d ∈ {0, 1, √2}); the inclusive one also accepts d = 2 (13 cells).
 */
import { ConfigError } from "../errors.ts";
import type { PatchGrid } from "../scene/types.ts";

/** PCK's correctness threshold in patches (see the file comment for strict vs inclusive). */
export interface PckThreshold {
  /** δ in patches; the paper uses 2. */
  delta: number;
  /** false (default, App. C): d < δ. true (Sec 5.3's "within δ"): d ≤ δ. */
  inclusive: boolean;
}

/** PCK@2 as App. C scores it: d < 2 patches. */
export const DEFAULT_PCK_THRESHOLD: PckThreshold = { delta: 2, inclusive: false };

export function checkThreshold(t: PckThreshold): void {
  if (!(Number.isFinite(t.delta) && t.delta > 0)) {
    throw new ConfigError("pck.delta", `expected a positive number of patches, got ${t.delta}`);
  }
}

/** Euclidean distance in patches between two row-major patch indices on a grid with `cols` columns. */
export function patchDistance(a: number, b: number, cols: number): number {
  const dr = Math.floor(a / cols) - Math.floor(b / cols);
  const dc = (a % cols) - (b % cols);
  return Math.sqrt(dr * dr + dc * dc);
}

/** Whether a prediction is correct under the threshold (see the file comment for strict vs inclusive). */
export function isCorrectMatch(
  pred: number,
  gt: number,
  cols: number,
  t: PckThreshold = DEFAULT_PCK_THRESHOLD,
): boolean {
  const d = patchDistance(pred, gt, cols);
  // The grid distance is the sqrt of an integer; compare squared integers to avoid √ rounding at d = δ exactly.
  const d2 = Math.round(d * d);
  const delta2 = t.delta * t.delta;
  return t.inclusive ? d2 <= delta2 : d2 < delta2;
}

/**
 * PCK@δ: the fraction of predictions within the threshold of their ground truth.
 * Entries with gt < 0 (not visible) are skipped; returns NaN when nothing is left to score.
 */
export function pckAtThreshold(
  pred: ArrayLike<number>,
  gt: ArrayLike<number>,
  grid: PatchGrid,
  threshold: PckThreshold = DEFAULT_PCK_THRESHOLD,
): number {
  if (pred.length !== gt.length) throw new ConfigError("pckAtThreshold", `pred has ${pred.length}, gt ${gt.length}`);
  checkThreshold(threshold);
  let n = 0;
  let correct = 0;
  for (let i = 0; i < pred.length; i++) {
    if (gt[i] < 0) continue;
    n++;
    if (isCorrectMatch(pred[i], gt[i], grid.cols, threshold)) correct++;
  }
  return n === 0 ? NaN : correct / n;
}

/** Number of grid cells that count as correct for ground truth `gt` (clipped at the grid border). */
export function correctCellCount(gt: number, grid: PatchGrid, threshold: PckThreshold = DEFAULT_PCK_THRESHOLD): number {
  const r0 = Math.floor(gt / grid.cols);
  const c0 = gt % grid.cols;
  const reach = Math.ceil(threshold.delta);
  let n = 0;
  for (let r = Math.max(0, r0 - reach); r <= Math.min(grid.rows - 1, r0 + reach); r++) {
    for (let c = Math.max(0, c0 - reach); c <= Math.min(grid.cols - 1, c0 + reach); c++) {
      if (isCorrectMatch(r * grid.cols + c, gt, grid.cols, threshold)) n++;
    }
  }
  return n;
}

/**
 * Analytic chance level for random features: when the argmax is uniform over the P = rows·cols grid cells, a
 * prediction for ground truth g is correct with probability correctCellCount(g)/P. Averaged over the given
 * ground-truth positions (gt < 0 skipped); NaN if none.
 */
export function chancePck(
  gt: ArrayLike<number>,
  grid: PatchGrid,
  threshold: PckThreshold = DEFAULT_PCK_THRESHOLD,
): number {
  const P = grid.rows * grid.cols;
  let n = 0;
  let sum = 0;
  for (let i = 0; i < gt.length; i++) {
    if (gt[i] < 0) continue;
    n++;
    sum += correctCellCount(gt[i], grid, threshold) / P;
  }
  return n === 0 ? NaN : sum / n;
}
