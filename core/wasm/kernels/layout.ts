/**
 * WASM data movement over 4-byte elements: permute (rows of the merged innermost axis, gathered with the source's
 * stride along it: a vector copy where that stride is 1), and slice / pad / place as copies of equal-length rows
 * between strided row starts. Loads and stores are bit-exact, so i32/u32 tensors move through the same kernels.
 */
import { WasmRuntime } from "../runtime.ts";
import type { WasmFeatures } from "../runtime.ts";
import { at, get, i32, kernel, loop, min, set } from "../wat.ts";
import { collapseAxes, MAX_RANK } from "../../kernels/shapes.ts";
import type { AxisPart } from "../../kernels/types.ts";
import type { Tensor } from "../../tensor.ts";
import { fill } from "./elementwise.ts";

const ROWS_PER_TASK_ELEMS = 16384;
const P = { x: 0, o: 1, rank: 2, perTask: 3, rows: 4, shape: 8, str: 8 + MAX_RANK } as const;

/** Copy `len` elements from src (stride `s`, 1 = contiguous) to contiguous dst. */
function rowCopy(src: string, s: string, dst: string, len: string): string {
  return `(if (i32.eq ${s} (i32.const 1))
      (then
        ${set("jv", `(i32.and ${len} ${i32(-4)})`)}
        ${loop("j", i32(0), get("jv"), `(v128.store ${at(dst, get("j"))} (v128.load ${at(src, get("j"))}))`, 4)}
        (block $B_t (loop $L_t
          (br_if $B_t (i32.ge_s ${get("j")} ${len}))
          (f32.store ${at(dst, get("j"))} (f32.load ${at(src, get("j"))}))
          ${set("j", `(i32.add ${get("j")} ${i32(1)})`)}
          (br $L_t))))
      (else
        ${
    loop("j", i32(0), len, `(f32.store ${at(dst, get("j"))} (f32.load ${at(src, `(i32.mul ${get("j")} ${s})`)}))`)
  }))`;
}

export function layoutWat(_f: WasmFeatures): string {
  const tab = (w: number) => `(i32.add (local.get $p) ${i32(4 * w)})`;
  const permute = kernel(
    "permute",
    ["x", "o", "rank", "perTask", "rows"],
    ["r", "rEnd", "len", "s", "src", "dst", "j", "jv"],
    `${set("len", `(i32.load ${at(tab(P.shape), `(i32.sub ${get("rank")} ${i32(1)})`)})`)}
    ${set("s", `(i32.load ${at(tab(P.str), `(i32.sub ${get("rank")} ${i32(1)})`)})`)}
    ${set("r", `(i32.mul ${get("t0")} ${get("perTask")})`)}
    ${set("rEnd", min(`(i32.mul ${get("t1")} ${get("perTask")})`, get("rows")))}
    (block $B_r (loop $L_r
      (br_if $B_r (i32.ge_s ${get("r")} ${get("rEnd")}))
      ${
      set(
        "src",
        at(get("x"), `(call $offset ${get("r")} (i32.sub ${get("rank")} ${i32(1)}) ${tab(P.shape)} ${tab(P.str)})`),
      )
    }
      ${set("dst", at(get("o"), `(i32.mul ${get("r")} ${get("len")})`))}
      ${rowCopy(get("src"), get("s"), get("dst"), get("len"))}
      ${set("r", `(i32.add ${get("r")} ${i32(1)})`)}
      (br $L_r)))`,
  );
  // rows r: dst + (r·dstStride + dstOff) ← src + (r·srcStride + srcOff), len elements each
  const rows = kernel(
    "copy_rows",
    ["x", "o", "rows", "perTask", "len", "srcStride", "srcOff", "dstStride", "dstOff"],
    ["r", "rEnd", "src", "dst", "j", "jv"],
    `${set("r", `(i32.mul ${get("t0")} ${get("perTask")})`)}
    ${set("rEnd", min(`(i32.mul ${get("t1")} ${get("perTask")})`, get("rows")))}
    (block $B_r (loop $L_r
      (br_if $B_r (i32.ge_s ${get("r")} ${get("rEnd")}))
      ${set("src", at(get("x"), `(i32.add (i32.mul ${get("r")} ${get("srcStride")}) ${get("srcOff")})`))}
      ${set("dst", at(get("o"), `(i32.add (i32.mul ${get("r")} ${get("dstStride")}) ${get("dstOff")})`))}
      ${rowCopy(get("src"), i32(1), get("dst"), get("len"))}
      ${set("r", `(i32.add ${get("r")} ${i32(1)})`)}
      (br $L_r)))`,
  );
  return permute + rows;
}

export function permute(x: Tensor, out: Tensor, srcStrides: number[]): void {
  const plan = collapseAxes(out.shape, [srcStrides]);
  const shape = plan.shape.length ? plan.shape : [1];
  const str = plan.shape.length ? plan.strides[0] : [1];
  const len = shape[shape.length - 1];
  const rows = out.size / len;
  const perTask = Math.max(1, Math.floor(ROWS_PER_TASK_ELEMS / len));
  const words = new Array<number>(P.str + MAX_RANK).fill(0);
  words[P.x] = x.ptr;
  words[P.o] = out.ptr;
  words[P.rank] = shape.length;
  words[P.perTask] = perTask;
  words[P.rows] = rows;
  shape.forEach((v, i) => (words[P.shape + i] = v));
  str.forEach((v, i) => (words[P.str + i] = v));
  WasmRuntime.current().run("permute", words, Math.ceil(rows / perTask), out.size * 8);
}

function copyRows(
  src: Tensor,
  dst: Tensor,
  rows: number,
  len: number,
  srcStride: number,
  srcOff: number,
  dstStride: number,
  dstOff: number,
): void {
  const perTask = Math.max(1, Math.floor(ROWS_PER_TASK_ELEMS / Math.max(1, len)));
  const words = [src.ptr, dst.ptr, rows, perTask, len, srcStride, srcOff, dstStride, dstOff];
  WasmRuntime.current().run("copy_rows", words, Math.ceil(rows / perTask), rows * len * 8);
}

export function slice(x: Tensor, out: Tensor, p: AxisPart): void {
  const run = p.len * p.inner;
  copyRows(x, out, p.outer, run, p.dim * p.inner, p.start * p.inner, run, 0);
}

export function place(x: Tensor, out: Tensor, p: AxisPart): void {
  const run = p.len * p.inner;
  copyRows(x, out, p.outer, run, run, 0, p.dim * p.inner, p.start * p.inner);
}

export function pad(g: Tensor, out: Tensor, p: AxisPart): void {
  fill(out, 0);
  if (g.size > 0) place(g, out, p);
}
