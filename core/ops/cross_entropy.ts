/**
 * crossEntropy(logits (…, V), targets (…)) fused with log-softmax (N rows = the product of the leading dims).
 * Rows whose target equals `ignoreIndex` (default -100) contribute no loss and no gradient. Reductions:
 *  - "mean" (default): Σ loss / (number of non-ignored rows); 0 when every row is ignored (never NaN);
 *  - "sum": Σ loss;  - "none": per-row losses, shape (…).
 * Targets: an i32 Tensor or a host Int32Array (checked on the host: out-of-range targets throw). Out-of-range
 * targets in an i32 Tensor cannot raise on the GPU and are treated as ignored.
 *
 * Kernels: per row, lse = m + log Σ exp(x - m) and the row loss lse - x[t]; one pass sums the losses and counts the
 * non-ignored rows in row order (deterministic); the backward is one elementwise pass.
 */
import { Tensor } from "../tensor.ts";
import { record } from "../tape.ts";
import { ShapeMismatchError } from "../errors.ts";
import { crossEntropyBackwardRaw, crossEntropyForwardRaw } from "../kernels/rows.ts";
import { lastAxisRows } from "../kernels/shapes.ts";
import type { CrossEntropyPlan } from "../kernels/types.ts";

/** Options of crossEntropy. */
export interface CrossEntropyOptions {
  /** Target value whose rows count no loss (default −100, as PyTorch). */
  ignoreIndex?: number;
  /** "mean" over non-ignored rows (default), "sum", or per-row "none". */
  reduction?: "mean" | "sum" | "none";
}

/** Cross-entropy of logits (…, V) against integer targets (…); see the file comment. */
export function crossEntropy(
  logits: Tensor,
  targets: Tensor | Int32Array,
  opts: CrossEntropyOptions = {},
): Tensor {
  const ignore = opts.ignoreIndex ?? -100;
  const reduction = opts.reduction ?? "mean";
  const { rows, len } = lastAxisRows("crossEntropy", logits);
  const tSize = targets instanceof Tensor ? targets.size : targets.length;
  if (tSize !== rows) {
    throw new ShapeMismatchError("crossEntropy", `${tSize} targets for logits [${logits.shape}] (${rows} rows)`);
  }
  let tgt: Tensor;
  if (targets instanceof Tensor) {
    if (targets.dtype !== "i32") {
      throw new ShapeMismatchError("crossEntropy", `targets must be i32, got ${targets.dtype}`);
    }
    tgt = targets;
  } else {
    targets.forEach((t, r) => {
      if (t !== ignore && (t < 0 || t >= len)) {
        throw new ShapeMismatchError("crossEntropy", `target ${t} at row ${r} is outside [0, ${len})`);
      }
    });
    tgt = Tensor.from(targets, [rows], { dtype: "i32", device: logits.device });
  }
  const plan: CrossEntropyPlan = { rows, len, ignore, reduction };
  const { out, perRow, lse, count } = crossEntropyForwardRaw(logits, tgt, plan);
  // fwd: loss_r = lse_r - x[r, t_r]  →  dx[r, j] = s_r · (softmax(x_r)_j - [j == t_r]),
  // s_r = g / count (mean), g (sum), g_r (none); 0 for ignored rows.
  const result = record(
    out,
    "crossEntropy",
    [logits],
    (g) => [crossEntropyBackwardRaw(logits, tgt, lse, g, count, plan)],
  );
  if (!result.node) {
    lse.dispose();
    if (reduction !== "none") {
      count.dispose();
      perRow.dispose();
    }
    if (tgt !== targets) tgt.dispose();
  }
  return result;
}

/** f64 reference: per-row losses reduced as `reduction`. */
export function crossEntropyReference(
  logits: Float64Array,
  len: number,
  targets: ArrayLike<number>,
  opts: CrossEntropyOptions = {},
): Float64Array {
  const ignore = opts.ignoreIndex ?? -100;
  const rows = targets.length;
  const losses = new Float64Array(rows);
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t === ignore) continue;
    const row = logits.subarray(r * len, (r + 1) * len);
    const m = row.reduce((a, v) => Math.max(a, v), -Infinity);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    losses[r] = lse - row[t];
    count++;
  }
  const reduction = opts.reduction ?? "mean";
  if (reduction === "none") return losses;
  const sum = losses.reduce((a, v) => a + v, 0);
  return Float64Array.of(reduction === "sum" ? sum : sum / Math.max(count, 1));
}
