/** The one WASM kernel module: every kernel family's WAT, the math library, and the per-thread scratch pointer. */
import type { WasmFeatures } from "./runtime.ts";
import { mathWat } from "./kernels/math.ts";
import { halfWat } from "./kernels/half.ts";
import { elementwiseWat } from "./kernels/elementwise.ts";
import { reduceWat } from "./kernels/reduce.ts";
import { layoutWat } from "./kernels/layout.ts";
import { matmulWat } from "./kernels/matmul.ts";
import { peakWat } from "./kernels/peak.ts";
import { rowsWat } from "./kernels/rows.ts";
import { miscWat } from "./kernels/misc.ts";
import { attentionWat } from "./kernels/attention.ts";

export function kernelModule(f: WasmFeatures): string {
  return `(module
  (import "env" "memory" (memory 1 65536 shared))
  ;; Each thread's instance points $scratch at its own range (packing buffers, tiles).
  (global $scratch (mut i32) (i32.const 0))
  (func (export "set_scratch") (param i32) (global.set $scratch (local.get 0)))
  ${mathWat(f)}
  ${halfWat()}
  ${elementwiseWat(f)}
  ${reduceWat(f)}
  ${layoutWat(f)}
  ${matmulWat(f)}
  ${peakWat(f)}
  ${rowsWat(f)}
  ${miscWat(f)}
  ${attentionWat(f)}
)`;
}
