/** The WASM device's raw kernels (SIMD128 WAT, core/wasm/kernels) behind the shared Backend interface. */
import type { Backend } from "../kernels/types.ts";
import * as elementwise from "./kernels/elementwise.ts";
import * as reduce from "./kernels/reduce.ts";
import * as layout from "./kernels/layout.ts";
import * as matmul from "./kernels/matmul.ts";
import * as rows from "./kernels/rows.ts";
import * as misc from "./kernels/misc.ts";
import * as attention from "./kernels/attention.ts";

export const wasmBackend: Backend = {
  // f16 storage and casts are integer code on this device: always available.
  supportsF16: () => true,
  ...elementwise,
  ...reduce,
  ...layout,
  ...matmul,
  ...rows,
  ...misc,
  ...attention,
};
