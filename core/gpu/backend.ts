/** The WebGPU device's raw kernels (WGSL, core/gpu/kernels) behind the shared Backend interface. */
import { GpuContext } from "./context.ts";
import type { Backend } from "../kernels/types.ts";
import * as elementwise from "./kernels/elementwise.ts";
import * as layout from "./kernels/layout.ts";
import * as reduce from "./kernels/reduce.ts";
import * as matmul from "./kernels/matmul.ts";
import * as softmax from "./kernels/softmax.ts";
import * as norm from "./kernels/norm.ts";
import * as rope from "./kernels/rope.ts";
import * as crossEntropy from "./kernels/cross_entropy.ts";
import * as attention from "./kernels/attention.ts";
import * as normalize from "./kernels/normalize.ts";
import * as topk from "./kernels/topk.ts";
import * as index from "./kernels/index.ts";
import * as optim from "./kernels/optim.ts";

export const gpuBackend: Backend = {
  supportsF16: () => GpuContext.current().hasF16,
  ...elementwise,
  ...layout,
  ...reduce,
  ...matmul,
  ...softmax,
  ...norm,
  ...rope,
  ...crossEntropy,
  ...attention,
  ...normalize,
  ...topk,
  ...index,
  ...optim,
};
