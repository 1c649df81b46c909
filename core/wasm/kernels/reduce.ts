/**
 * WASM reductions (sum, max) over merged axes, in one of three walks chosen on the host:
 *  - rows: the innermost reduced axis is contiguous: per output, vector sums over contiguous runs;
 *  - cols: the innermost kept axis is contiguous: per block of outputs, vector accumulation over every reduced
 *    index (bias gradients: (T, N) → (N));
 *  - scalar: any other layout, element by element.
 * Offsets come from `$offset`, which decomposes a row-major index over a (shape, strides) table.
 */
import { WasmRuntime } from "../runtime.ts";
import type { WasmFeatures } from "../runtime.ts";
import { at, get, hmax, hsum, i32, kernel, loop, min, set, splat } from "../wat.ts";
import { MAX_RANK } from "../../kernels/shapes.ts";
import type { ReduceKind, ReducePlan } from "../../kernels/types.ts";
import type { Tensor } from "../../tensor.ts";

/** Largest finite f32: the identity of max (as the WGSL kernel, so empty reductions agree). */
const MAXF = 3.4028234663852886e38;

/** Parameter word offsets; tables are MAX_RANK words each. */
const W = { x: 0, o: 1, nOut: 2, keptRank: 3, redRank: 4, perTask: 5, cols: 6, keptShape: 8 } as const;
const KEPT_STR = W.keptShape + MAX_RANK, RED_SHAPE = KEPT_STR + MAX_RANK, RED_STR = RED_SHAPE + MAX_RANK;
const COL_BLOCK = 256;

export const OFFSET_WAT = `
(func $offset (param $idx i32) (param $rank i32) (param $shape i32) (param $str i32) (result i32)
  (local $d i32) (local $off i32) (local $dim i32)
  (local.set $d (i32.sub (local.get $rank) (i32.const 1)))
  (block $B (loop $L
    (br_if $B (i32.lt_s (local.get $d) (i32.const 0)))
    (local.set $dim (i32.load (i32.add (local.get $shape) (i32.shl (local.get $d) (i32.const 2)))))
    (local.set $off (i32.add (local.get $off) (i32.mul (i32.rem_u (local.get $idx) (local.get $dim))
      (i32.load (i32.add (local.get $str) (i32.shl (local.get $d) (i32.const 2)))))))
    (local.set $idx (i32.div_u (local.get $idx) (local.get $dim)))
    (local.set $d (i32.sub (local.get $d) (i32.const 1)))
    (br $L)))
  (local.get $off))`;

function reduceKindWat(kind: ReduceKind): string {
  const vop = kind === "sum" ? "f32x4.add" : "f32x4.pmax";
  const sop = (a: string, b: string) =>
    kind === "sum" ? `(f32.add ${a} ${b})` : `(select ${a} ${b} (f32.gt ${a} ${b}))`;
  const init = kind === "sum" ? 0 : -MAXF;
  const horiz = kind === "sum" ? hsum : hmax;
  const word = (w: number) => `(i32.load offset=${4 * w} (local.get $p))`;
  const tab = (w: number) => `(i32.add (local.get $p) ${i32(4 * w)})`;
  const common = ["x", "o", "nOut", "keptRank", "redRank", "perTask", "cols"];
  const outRange = `${set("oi", `(i32.mul ${get("t0")} ${get("perTask")})`)}
    ${set("oEnd", min(`(i32.mul ${get("t1")} ${get("perTask")})`, get("nOut")))}`;
  // rows: innermost reduced axis contiguous, length len; runs = nRed / len over the outer reduced axes
  const rows = kernel(
    `reduce_rows_${kind}`,
    common,
    ["oi", "oEnd", "base", "len", "runs", "q", "off", "j", "jv", "acc:v128", "s:f32", "tmp:v128"],
    `${outRange}
    ${set("len", `(i32.load ${at(tab(RED_SHAPE), `(i32.sub ${get("redRank")} ${i32(1)})`)})`)}
    ${set("jv", `(i32.and ${get("len")} ${i32(-4)})`)}
    ${set("runs", word(W.cols))}
    (block $B_o (loop $L_o
      (br_if $B_o (i32.ge_s ${get("oi")} ${get("oEnd")}))
      ${set("base", `(call $offset ${get("oi")} ${get("keptRank")} ${tab(W.keptShape)} ${tab(KEPT_STR)})`)}
      ${set("acc", splat(init))}
      ${set("s", `(f32.const ${init})`)}
      ${
      loop(
        "q",
        i32(0),
        get("runs"),
        `${
          set(
            "off",
            at(
              get("x"),
              `(i32.add ${get("base")} (call $offset ${get("q")} (i32.sub ${get("redRank")} ${i32(1)}) ${
                tab(RED_SHAPE)
              } ${tab(RED_STR)}))`,
            ),
          )
        }
        ${loop("j", i32(0), get("jv"), set("acc", `(${vop} ${get("acc")} (v128.load ${at(get("off"), get("j"))}))`), 4)}
        (block $B_t (loop $L_t
          (br_if $B_t (i32.ge_s ${get("j")} ${get("len")}))
          ${set("s", sop(get("s"), `(f32.load ${at(get("off"), get("j"))})`))}
          ${set("j", `(i32.add ${get("j")} ${i32(1)})`)}
          (br $L_t)))`,
      )
    }
      (f32.store ${at(get("o"), get("oi"))} ${sop(get("s"), horiz(get("acc"), "tmp"))})
      ${set("oi", `(i32.add ${get("oi")} ${i32(1)})`)}
      (br $L_o)))`,
  );
  // cols: innermost kept axis contiguous (length len); task = (group of len outputs, block of COL_BLOCK columns)
  const cols = kernel(
    `reduce_cols_${kind}`,
    common,
    ["t", "g", "jb", "j0", "j1", "jv", "len", "nRed", "base", "r", "off", "orow", "j"],
    `${set("len", `(i32.load ${at(tab(W.keptShape), `(i32.sub ${get("keptRank")} ${i32(1)})`)})`)}
    ${set("nRed", word(W.cols))}
    ${
      loop(
        "t",
        get("t0"),
        get("t1"),
        `${set("g", `(i32.div_u ${get("t")} ${get("perTask")})`)}
        ${set("jb", `(i32.rem_u ${get("t")} ${get("perTask")})`)}
        ${set("j0", `(i32.mul ${get("jb")} ${i32(COL_BLOCK)})`)}
        ${set("j1", min(`(i32.add ${get("j0")} ${i32(COL_BLOCK)})`, get("len")))}
        ${set("jv", `(i32.add ${get("j0")} (i32.and (i32.sub ${get("j1")} ${get("j0")}) ${i32(-4)}))`)}
        ${
          set(
            "base",
            `(call $offset ${get("g")} (i32.sub ${get("keptRank")} ${i32(1)}) ${tab(W.keptShape)} ${tab(KEPT_STR)})`,
          )
        }
        ${set("orow", at(get("o"), `(i32.mul ${get("g")} ${get("len")})`))}
        ${loop("j", get("j0"), get("j1"), `(f32.store ${at(get("orow"), get("j"))} (f32.const ${init}))`)}
        ${
          loop(
            "r",
            i32(0),
            get("nRed"),
            `${
              set(
                "off",
                at(
                  get("x"),
                  `(i32.add ${get("base")} (call $offset ${get("r")} ${get("redRank")} ${tab(RED_SHAPE)} ${
                    tab(RED_STR)
                  }))`,
                ),
              )
            }
            ${
              loop(
                "j",
                get("j0"),
                get("jv"),
                `(v128.store ${at(get("orow"), get("j"))}
                  (${vop} (v128.load ${at(get("orow"), get("j"))}) (v128.load ${at(get("off"), get("j"))})))`,
                4,
              )
            }
            (block $B_t (loop $L_t
              (br_if $B_t (i32.ge_s ${get("j")} ${get("j1")}))
              (f32.store ${at(get("orow"), get("j"))}
                ${sop(`(f32.load ${at(get("orow"), get("j"))})`, `(f32.load ${at(get("off"), get("j"))})`)})
              ${set("j", `(i32.add ${get("j")} ${i32(1)})`)}
              (br $L_t)))`,
          )
        }`,
      )
    }`,
  );
  const scalar = kernel(
    `reduce_scalar_${kind}`,
    common,
    ["oi", "oEnd", "base", "nRed", "r", "s:f32"],
    `${outRange}
    ${set("nRed", word(W.cols))}
    (block $B_o (loop $L_o
      (br_if $B_o (i32.ge_s ${get("oi")} ${get("oEnd")}))
      ${set("base", `(call $offset ${get("oi")} ${get("keptRank")} ${tab(W.keptShape)} ${tab(KEPT_STR)})`)}
      ${set("s", `(f32.const ${init})`)}
      ${
      loop(
        "r",
        i32(0),
        get("nRed"),
        set(
          "s",
          sop(
            get("s"),
            `(f32.load ${
              at(
                get("x"),
                `(i32.add ${get("base")} (call $offset ${get("r")} ${get("redRank")} ${tab(RED_SHAPE)} ${
                  tab(RED_STR)
                }))`,
              )
            })`,
          ),
        ),
      )
    }
      (f32.store ${at(get("o"), get("oi"))} ${get("s")})
      ${set("oi", `(i32.add ${get("oi")} ${i32(1)})`)}
      (br $L_o)))`,
  );
  return rows + cols + scalar;
}

export function reduceWat(_f: WasmFeatures): string {
  return OFFSET_WAT + reduceKindWat("sum") + reduceKindWat("max");
}

export function reduce(kind: ReduceKind, x: Tensor, out: Tensor, plan: ReducePlan): void {
  const words = new Array<number>(RED_STR + MAX_RANK).fill(0);
  words[W.x] = x.ptr;
  words[W.o] = out.ptr;
  words[W.nOut] = plan.nOut;
  words[W.keptRank] = plan.keptShape.length;
  words[W.redRank] = plan.redShape.length;
  plan.keptShape.forEach((v, i) => (words[W.keptShape + i] = v));
  plan.keptStrides.forEach((v, i) => (words[KEPT_STR + i] = v));
  plan.redShape.forEach((v, i) => (words[RED_SHAPE + i] = v));
  plan.redStrides.forEach((v, i) => (words[RED_STR + i] = v));
  const rt = WasmRuntime.current();
  const work = (plan.nOut * plan.nRed + plan.nOut) * 4;
  const redInner = plan.redShape.length ? plan.redStrides[plan.redShape.length - 1] : 0;
  const keptInner = plan.keptShape.length ? plan.keptStrides[plan.keptShape.length - 1] : 0;
  if (plan.nRed > 0 && redInner === 1 && plan.redShape[plan.redShape.length - 1] >= 4) {
    const len = plan.redShape[plan.redShape.length - 1];
    words[W.cols] = plan.nRed / len; // contiguous runs per output
    const perTask = Math.max(1, Math.ceil(4096 / plan.nRed));
    words[W.perTask] = perTask;
    rt.run(`reduce_rows_${kind}`, words, Math.ceil(plan.nOut / perTask), work);
  } else if (keptInner === 1 && plan.keptShape[plan.keptShape.length - 1] >= 4) {
    const len = plan.keptShape[plan.keptShape.length - 1];
    const blocks = Math.ceil(len / COL_BLOCK);
    words[W.cols] = plan.nRed;
    words[W.perTask] = blocks; // tasks = groups × column blocks
    rt.run(`reduce_cols_${kind}`, words, (plan.nOut / len) * blocks, work);
  } else {
    words[W.cols] = plan.nRed;
    const perTask = Math.max(1, Math.ceil(4096 / Math.max(1, plan.nRed)));
    words[W.perTask] = perTask;
    rt.run(`reduce_scalar_${kind}`, words, Math.ceil(plan.nOut / perTask), work);
  }
}
