/**
 * The autograd tape's recording half: whether grad is on, and `record`, which links an op's result to its inputs
 * and backward rule. It sits below every op (ops import it; it imports no op), so core/autograd.ts, which walks the
 * tape backwards with raw kernels, and the recording ops in core/ops never import each other in a circle.
 */
import type { GradNode, Tensor } from "./tensor.ts";

let gradEnabled = true;

/** Whether ops record their backward rules now. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run fn with recording switched on or off, restoring the previous state afterwards. */
export function withGradEnabled<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Run fn without recording the tape (evaluation, optimiser updates). */
export function noGrad<T>(fn: () => T): T {
  return withGradEnabled(false, fn);
}

/** Attach a backward rule to an op result if any input requires grad. Returns `out`. */
export function record(out: Tensor, name: string, inputs: Tensor[], backward: GradNode["backward"]): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { name, inputs, backward };
  }
  return out;
}
