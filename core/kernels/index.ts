/** Raw integer indexing (no tape): indexSelect, gather and their deterministic scatter-add backwards. */
import { Tensor } from "../tensor.ts";
import { ShapeMismatchError } from "../errors.ts";
import { kernelsOf } from "./backend.ts";
import type { GatherPlan, IndexPlan } from "./types.ts";

export function indexPlan(x: { shape: readonly number[] }, axis: number, k: number): IndexPlan {
  return {
    outer: x.shape.slice(0, axis).reduce((a, b) => a * b, 1),
    len: x.shape[axis],
    inner: x.shape.slice(axis + 1).reduce((a, b) => a * b, 1),
    k,
  };
}

/** x (f32, or f16 storage read as f32) at idx along axis → an f32 tensor. */
export function indexSelectRaw(x: Tensor, axis: number, idx: Tensor, plan: IndexPlan): Tensor {
  const { device, k } = kernelsOf("indexSelect", x, idx);
  if (x.dtype !== "f32" && x.dtype !== "f16") {
    throw new ShapeMismatchError("indexSelect", `x must be f32 or f16, got ${x.dtype}`);
  }
  const out = Tensor.empty(x.shape.map((d, i) => (i === axis ? plan.k : d)), "f32", device);
  if (out.size > 0) k.indexSelect(x, idx, out, plan);
  return out;
}

export function indexSelectBackwardRaw(
  g: Tensor,
  idx: Tensor,
  host: Int32Array | null,
  xShape: readonly number[],
  plan: IndexPlan,
): Tensor {
  const { device, k } = kernelsOf("indexSelect backward", g, idx);
  const dx = Tensor.empty(xShape, "f32", device);
  if (dx.size > 0) k.indexSelectBackward(g, idx, host, dx, plan);
  return dx;
}

export function gatherPlan(x: Tensor, axis: number, index: Tensor): GatherPlan {
  if (index.dtype !== "i32") throw new ShapeMismatchError("gather", `index must be i32, got ${index.dtype}`);
  if (index.rank !== x.rank || index.shape.some((d, i) => i !== axis && d > x.shape[i])) {
    throw new ShapeMismatchError("gather", `index [${index.shape}] does not fit x [${x.shape}] on axis ${axis}`);
  }
  return { rank: x.rank, axis, xShape: [...x.shape], indexShape: [...index.shape] };
}

export function gatherRaw(x: Tensor, index: Tensor, plan: GatherPlan): Tensor {
  const { device, k } = kernelsOf("gather", x, index);
  const out = Tensor.empty(index.shape, "f32", device);
  if (out.size > 0) k.gather(x, index, out, plan);
  return out;
}

export function gatherBackwardRaw(g: Tensor, index: Tensor, plan: GatherPlan): Tensor {
  const { device, k } = kernelsOf("gather backward", g, index);
  const dx = Tensor.empty(plan.xShape, "f32", device);
  if (dx.size > 0) k.gatherBackward(g, index, dx, plan);
  return dx;
}
