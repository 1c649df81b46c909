/**
 * Learning-rate schedule of App. B: linear warmup over the first 10 % of steps, then cosine decay to minLr.
 *
 * `step` is the 0-based index of the optimizer step about to be taken (after gradient accumulation), so
 * lr(0) = peak / W is never zero and the last step (total − 1) lands just above minLr.
 *   warmup:  step < W:  lr = peak · (step + 1) / W,                    W = round(warmupFraction · total)
 *   decay:   step ≥ W:  lr = minLr + ½ (peak − minLr) (1 + cos(π · (step − W) / max(1, total − W)))
 */
import { ConfigError } from "../core/errors.ts";

export interface CosineScheduleOptions {
  peakLr: number;
  totalSteps: number;
  /** Fraction of totalSteps spent in linear warmup (App. B: 0.1). */
  warmupFraction?: number;
  /** Floor of the cosine as a fraction of peakLr (default 0: decay to zero, as HF's cosine schedule). */
  minLrRatio?: number;
}

export function warmupSteps(totalSteps: number, warmupFraction = 0.1): number {
  return Math.round(warmupFraction * totalSteps);
}

export function cosineWithWarmup(step: number, o: CosineScheduleOptions): number {
  const { peakLr, totalSteps } = o;
  if (!(totalSteps > 0 && Number.isInteger(totalSteps))) {
    throw new ConfigError("steps", `must be a positive integer, got ${totalSteps}`);
  }
  const W = warmupSteps(totalSteps, o.warmupFraction ?? 0.1);
  const minLr = peakLr * (o.minLrRatio ?? 0);
  if (step < W) return (peakLr * (step + 1)) / W;
  const progress = Math.min(1, (step - W) / Math.max(1, totalSteps - W));
  return minLr + 0.5 * (peakLr - minLr) * (1 + Math.cos(Math.PI * progress));
}
