/** The WASM device's raw kernels (placeholder while the kernels are written). */
import type { Backend } from "../kernels/types.ts";

export const wasmBackend: Backend = new Proxy({} as Backend, {
  get: (_t, name) => () => {
    throw new Error(`the WASM kernel ${String(name)} is not implemented yet`);
  },
});
