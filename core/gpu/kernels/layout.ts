/** WGSL data-movement kernels over 4-byte elements: permute, slice, pad (slice's backward), place (concat). */
import { bindings, stridedOffsetWgsl } from "../wgsl.ts";
import { flatMain, grid1d, launch, packParams } from "../launch.ts";
import { MAX_RANK } from "../../kernels/shapes.ts";
import type { AxisPart } from "../../kernels/types.ts";
import type { Tensor } from "../../tensor.ts";

const WG = 256;

const permuteCode = () => `
struct P { n: u32, rank: u32, shape: array<vec4<u32>, 2>, src: array<vec4<u32>, 2> }
${bindings(["in X: u32", "out O: u32"], "P")}
${stridedOffsetWgsl("srcOffset", "p.rank", "p.shape", "p.src")}
${flatMain(WG)}
  O[i] = X[srcOffset(i)];
}`;

export function permute(x: Tensor, out: Tensor, srcStrides: number[]): void {
  const u = new Uint32Array(4 + 2 * MAX_RANK);
  u[0] = out.size;
  u[1] = out.rank;
  out.shape.forEach((d, i) => {
    u[4 + i] = d;
    u[4 + MAX_RANK + i] = srcStrides[i];
  });
  launch("permute", permuteCode, [x, out], u.buffer, grid1d(out.size, WG));
}

const PART = "struct P { n: u32, len: u32, inner: u32, dim: u32, start: u32 }";

/**
 * slice, pad and place walk (outer, axis, inner) the same way: flat index i → inner column r, axis position a along
 * `along` (the part's own length for slice and place, the whole axis for pad) and outer index o; `move` is the one
 * statement that differs.
 */
function partCode(input: string, along: "len" | "dim", move: string): () => string {
  return () => `
${PART}
${bindings([`in ${input}: u32`, "out O: u32"], "P")}
${flatMain(WG)}
  let r = i % p.inner;
  let q = i / p.inner;
  let a = q % p.${along};
  let o = q / p.${along};
  ${move}
}`;
}

const sliceCode = partCode("X", "len", "O[i] = X[(o * p.dim + p.start + a) * p.inner + r];");
const padCode = partCode(
  "G",
  "dim",
  `var v = 0u;
  if (a >= p.start && a < p.start + p.len) { v = G[(o * p.len + a - p.start) * p.inner + r]; }
  O[i] = v;`,
);
const placeCode = partCode("X", "len", "O[(o * p.dim + p.start + a) * p.inner + r] = X[i];");

function partParams(n: number, p: AxisPart): ArrayBuffer {
  return packParams([["u32", n], ["u32", p.len], ["u32", p.inner], ["u32", p.dim], ["u32", p.start]]);
}

export function slice(x: Tensor, out: Tensor, part: AxisPart): void {
  launch("slice", sliceCode, [x, out], partParams(out.size, part), grid1d(out.size, WG));
}

export function pad(g: Tensor, out: Tensor, part: AxisPart): void {
  launch("slice_pad", padCode, [g, out], partParams(out.size, part), grid1d(out.size, WG));
}

export function place(x: Tensor, out: Tensor, part: AxisPart): void {
  launch("concat_place", placeCode, [x, out], partParams(x.size, part), grid1d(x.size, WG));
}
