/**
 * One suite's score of a checkpoint and its paired difference against a control: what eval's benchmark results give
 * (eval/benchmarks/control_deltas.ts) and train's ablation table records (train/ablation.ts), kept here because
 * train/ and eval/ never import each other.
 */
export interface PairedDelta {
  /** Items scored. */
  n: number;
  /** Headline metric, strict (0-1). */
  score: number | null;
  /** Its 95 % interval. */
  ci95: { lo: number; hi: number } | null;
  /** Checkpoint − control on the same items (null for the control itself). */
  diff: number | null;
  /** 95 % interval of the difference. */
  diffCi95: { lo: number; hi: number } | null;
  /** Two-sided p-value of the paired test. */
  pValue: number | null;
  /** The paired test ("mcnemar-exact", "paired-bootstrap"). */
  test: string | null;
}
