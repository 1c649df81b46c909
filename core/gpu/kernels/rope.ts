/** WGSL rotary embedding (see core/ops/rope.ts): one invocation per (j, j + D/2) pair. */
import { bindings } from "../wgsl.ts";
import { flatMain, grid1d, launch, packParams } from "../launch.ts";
import type { RopePlan } from "../../kernels/types.ts";
import type { Tensor } from "../../tensor.ts";

const WG = 256;
const code = () => `
struct P { nPairs: u32, half: u32, T: u32, rowsPerTok: u32, rowsPerBatch: u32, tableBatch: u32, sign: f32 }
${bindings(["in X", "in C", "in S", "out O"], "P")}
${flatMain(WG, "p.nPairs")}
  let row = i / p.half;
  let j = i % p.half;
  let t = (row / p.rowsPerTok) % p.T;
  let b = row / p.rowsPerBatch;
  let k = b * p.tableBatch + t * p.half + j;
  let c = C[k];
  let s = S[k] * p.sign;
  let i1 = row * 2u * p.half + j;
  let x1 = X[i1];
  let x2 = X[i1 + p.half];
  O[i1] = x1 * c - x2 * s;
  O[i1 + p.half] = x2 * c + x1 * s;
}`;

export function rope(x: Tensor, cos: Tensor, sin: Tensor, out: Tensor, p: RopePlan): void {
  const params = packParams([
    ["u32", p.nPairs],
    ["u32", p.half],
    ["u32", p.T],
    ["u32", p.rowsPerTok],
    ["u32", p.rowsPerBatch],
    ["u32", p.tableBatch],
    ["f32", p.sign],
  ]);
  launch("rope", code, [x, cos, sin, out], params, grid1d(p.nPairs, WG));
}
