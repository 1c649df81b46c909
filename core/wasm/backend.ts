/** The WASM device's raw kernels (SIMD128 WAT, core/wasm/kernels) behind the shared Backend interface. */
import type { Backend } from "../kernels/types.ts";
import { binary, cast, copy, fill, unary, where } from "./kernels/elementwise.ts";
import { reduce } from "./kernels/reduce.ts";
import { pad, permute, place, slice } from "./kernels/layout.ts";
import { matmul } from "./kernels/matmul.ts";
import {
  crossEntropyBackward,
  crossEntropyReduce,
  crossEntropyRows,
  l2Backward,
  l2Forward,
  normBackwardW,
  normBackwardX,
  normForward,
  softmaxBackward,
  softmaxForward,
  topk,
} from "./kernels/rows.ts";
import { attentionBackward, attentionForward } from "./kernels/attention.ts";
import {
  adamw,
  gather,
  gatherBackward,
  gradNorm,
  indexSelect,
  indexSelectBackward,
  rope,
  scaleByStat,
} from "./kernels/misc.ts";

export const wasmBackend: Backend = {
  supportsF16: () => true,
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
