/** The WebGPU device's raw kernels (WGSL, core/gpu/kernels) behind the shared Backend interface. */
import { GpuContext } from "./context.ts";
import type { Backend } from "../kernels/types.ts";
import { binary, cast, copy, fill, unary, where } from "./kernels/elementwise.ts";
import { pad, permute, place, slice } from "./kernels/layout.ts";
import { reduce } from "./kernels/reduce.ts";
import { matmul } from "./kernels/matmul.ts";
import { softmaxBackward, softmaxForward } from "./kernels/softmax.ts";
import { normBackwardW, normBackwardX, normForward } from "./kernels/norm.ts";
import { rope } from "./kernels/rope.ts";
import { crossEntropyBackward, crossEntropyReduce, crossEntropyRows } from "./kernels/cross_entropy.ts";
import { attentionBackward, attentionForward } from "./kernels/attention.ts";
import { l2Backward, l2Forward } from "./kernels/normalize.ts";
import { topk } from "./kernels/topk.ts";
import { gather, gatherBackward, indexSelect, indexSelectBackward } from "./kernels/index.ts";
import { adamw, gradNorm, scaleByStat } from "./kernels/optim.ts";

export const gpuBackend: Backend = {
  supportsF16: () => GpuContext.current().hasF16,
  fill,
  copy,
  binary,
  unary,
  where,
  cast,
  reduce,
  permute,
  slice,
  pad,
  place,
  matmul,
  softmaxForward,
  softmaxBackward,
  normForward,
  normBackwardX,
  normBackwardW,
  rope,
  crossEntropyRows,
  crossEntropyReduce,
  crossEntropyBackward,
  attentionForward,
  attentionBackward,
  l2Forward,
  l2Backward,
  topk,
  indexSelect,
  indexSelectBackward,
  gather,
  gatherBackward,
  gradNorm,
  scaleByStat,
  adamw,
};
