/** full / zerosLike / onesLike: constant tensors made on the GPU (no upload). No gradient. */
import { Tensor } from "../tensor.ts";
import { flatIndex, grid1d, launch, packParams } from "./kernel.ts";

const WG = 256;
const code = () => `
struct P { n: u32, value: f32 }
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${flatIndex(WG)}
  if (i < p.n) { out[i] = p.value; }
}`;

export function full(shape: readonly number[], value: number): Tensor {
  const out = Tensor.empty(shape);
  if (out.size > 0) launch("fill", code, [out], packParams([["u32", out.size], ["f32", value]]), grid1d(out.size, WG));
  return out;
}

export function zerosLike(t: Tensor): Tensor {
  return full(t.shape, 0);
}

export function onesLike(t: Tensor): Tensor {
  return full(t.shape, 1);
}

/** f64 reference. */
export function fullReference(size: number, value: number): Float64Array {
  return new Float64Array(size).fill(value);
}
