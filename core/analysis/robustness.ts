/**
 * Temporal robustness (Sec 5.3): Y(Δt) = PCK(Δt) / PCK(Δt = 1), which anchors every model at 1.0 for the shortest
 * gap so that degradation rates compare fairly. Δt = |frameIndices[k] − frameIndices[0]| (source-video frames).
 */

/**
 * Normalises a PCK-by-Δt curve. `pckByDeltaT[i]` is PCK at Δt = i + 1 (NaN where no prediction had that gap).
 * Every entry is NaN when PCK(1) is NaN or 0 (nothing correct at Δt = 1: the ratio is undefined).
 */
export function normalizeRobustness(pckByDeltaT: ArrayLike<number>): number[] {
  const base = pckByDeltaT[0];
  const out: number[] = [];
  for (let i = 0; i < pckByDeltaT.length; i++) {
    out.push(!(base > 0) ? NaN : pckByDeltaT[i] / base);
  }
  return out;
}
