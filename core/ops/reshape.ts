/** reshape: a view with a new shape (no copy); backward reshapes the gradient back. One -1 entry is inferred. */
import { Tensor } from "../tensor.ts";
import { record } from "../tape.ts";
import { ShapeMismatchError } from "../errors.ts";

/** A view of x with a new shape of the same size (one −1 is inferred); no copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = [...shape];
  const neg = s.indexOf(-1);
  if (neg >= 0) {
    const known = s.reduce((a, d, i) => (i === neg ? a : a * d), 1);
    if (known === 0 || x.size % known !== 0) throw new ShapeMismatchError("reshape", `[${x.shape}] -> [${shape}]`);
    s[neg] = x.size / known;
  }
  const out = x.view(s);
  return record(out, "reshape", [x], (g) => [g.view(x.shape)]);
}

/** f64 reference: reshape does not move data. */
export function reshapeReference(x: Float64Array): Float64Array {
  return x.slice();
}
