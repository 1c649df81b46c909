/** full / zerosLike / onesLike: constant tensors made on the device (no upload). No gradient. */
import type { Tensor } from "../tensor.ts";
import { full } from "../kernels/elementwise.ts";

export { full };

/** Zeros of t's shape on t's device. */
export function zerosLike(t: Tensor): Tensor {
  return full(t.shape, 0, t.device);
}

/** Ones of t's shape on t's device. */
export function onesLike(t: Tensor): Tensor {
  return full(t.shape, 1, t.device);
}

/** f64 reference. */
export function fullReference(size: number, value: number): Float64Array {
  return new Float64Array(size).fill(value);
}
