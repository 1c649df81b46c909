/**
 * WASM row kernels over the last axis, vectorised along the row (a masked vector covers a row's tail): softmax and
 * logSoftmax (three passes: max, Σ exp, write; masks broadcast with a last-axis stride of 0 or 1), RMSNorm and
 * LayerNorm (forward with per-row (μ, r), dx by rows, dw/db by column blocks summing rows in order), cross-entropy
 * (row losses and lse, an in-order total, the backward), l2Normalize along any axis, and topk.
 * Conventions and derivations: the core/ops files; the WGSL versions in core/gpu/kernels.
 */
import { f32Word, WasmRuntime } from "../runtime.ts";
import type { WasmFeatures } from "../runtime.ts";
import { at, get, hmax, hsum, i32, kernel, loop, min, set, splat } from "../wat.ts";
import { MAX_RANK } from "../../kernels/shapes.ts";
import type {
  Backend,
  CrossEntropyPlan,
  L2Plan,
  MaskMode,
  NormKind,
  NormPlan,
  SoftmaxPlan,
} from "../../kernels/types.ts";
import type { Tensor } from "../../tensor.ts";
import { onValid, perTaskFor, ROW_LOCALS, rowsOfTask, rowVec, storeVec, vld } from "./rowwat.ts";

const MAXF = 3.4028234663852886e38;

const and = (a: string | null, b: string | null) => (a === null ? b : b === null ? a : `(v128.and ${a} ${b})`);

// ── softmax ──────────────────────────────────────────────────────────────────────────────────────────────────────

const SM = { x: 0, m: 1, o: 2, rows: 3, len: 4, perTask: 5, scale: 6, leadRank: 7, lastStride: 8, shape: 9 } as const;
const SM_STR = SM.shape + MAX_RANK;

function softmaxWat(log: boolean, mode: MaskMode | "none", backward: boolean): string {
  const name = `softmax_${backward ? "bwd" : "fwd"}_${+log}_${mode}`;
  // forward: x, mask, out; backward: y, g (in the `o` slot's place: x = y, m = mask, o = g, and dx after the tables)
  const params = ["x", "mk", "o", "rows", "len", "perTask", "scale:f32", "leadRank", "lastStride"];
  const tab = (w: number) => `(i32.add (local.get $p) ${i32(4 * w)})`;
  const hasMask = mode !== "none";
  // mask value at column j of the row (vector or splat by the last-axis stride), and its validity
  const maskVec = `(v128.bitselect (v128.load ${at(get("mb"), `(i32.mul ${get("j")} ${get("lastStride")})`)})
      (v128.load32_splat ${get("mb")}) ${get("msm")})`;
  const maskValid = mode === "keep"
    ? `(f32x4.ne (local.get $mv) ${splat(0)})`
    : `(f32x4.gt (local.get $mv) ${splat(-1e30)})`;
  const loadMask = hasMask ? `(local.set $mv ${maskVec})` : "";
  const valid = (tail: string | null) => and(hasMask ? maskValid : null, tail);
  const z = () => {
    const xs = `(f32x4.mul ${vld(get("xb"))} ${get("sc")})`;
    return mode === "additive" ? `(f32x4.add ${xs} (local.get $mv))` : xs;
  };
  const rowStart = `${set("xb", at(get("x"), `(i32.mul ${get("row")} ${get("len")})`))}
    ${set("ob", at(get("o"), `(i32.mul ${get("row")} ${get("len")})`))}
    ${
    hasMask
      ? set("mb", at(get("mk"), `(call $offset ${get("row")} ${get("leadRank")} ${tab(SM.shape)} ${tab(SM_STR)})`))
      : ""
  }`;
  const locals = [
    ...ROW_LOCALS,
    "row",
    "rowEnd",
    "xb",
    "ob",
    "mb",
    "dxp",
    "db",
    "msm:v128",
    "mv:v128",
    "sc:v128",
    "acc:v128",
    "vm:v128",
    "m:f32",
    "s:f32",
    "inv:v128",
    "ms:v128",
    "ls:v128",
  ];
  const init = `${set("sc", "(f32x4.splat (local.get $scale))")}
    ${set("msm", `(i32x4.splat (i32.sub ${i32(0)} ${get("lastStride")}))`)}`;
  if (!backward) {
    const body = `${rowStart}
    ;; pass 1: max of the valid logits
    ${set("acc", splat(-MAXF))}
    ${
      rowVec(get("len"), (t) =>
        `${loadMask}
      ${
          valid(t) === null
            ? set("acc", `(f32x4.pmax ${get("acc")} ${z()})`)
            : set("acc", `(f32x4.pmax ${get("acc")} (v128.bitselect ${z()} ${splat(-MAXF)} ${valid(t)}))`)
        }`, "p1")
    }
    ${set("m", hmax(get("acc"), "tmp"))}
    ${set("ms", "(f32x4.splat (local.get $m))")}
    ;; pass 2: Σ exp(z − m) over the valid logits
    ${set("acc", splat(0))}
    ${
      rowVec(get("len"), (t) =>
        `${loadMask}
      ${
          set(
            "acc",
            `(f32x4.add ${get("acc")} ${onValid(`(call $exp4 (f32x4.sub ${z()} ${get("ms")}))`, splat(0), valid(t))})`,
          )
        }`, "p2")
    }
    ${set("s", hsum(get("acc"), "tmp"))}
    ;; pass 3: s ≥ 1 when any position is valid; s = 0 means a fully masked row (all zeros)
    ${
      log ? set("ls", `(f32x4.splat (call $log1 (f32.max (local.get $s) (f32.const 1))))`) : set(
        "inv",
        `(f32x4.splat (select (f32.div (f32.const 1) (local.get $s)) (f32.const 0) (f32.gt (local.get $s) (f32.const 0))))`,
      )
    }
    ${
      rowVec(get("len"), (t) => {
        const y = log
          ? `(v128.and (f32x4.sub (f32x4.sub ${z()} ${get("ms")}) ${get("ls")})
              (i32x4.splat (i32.sub (i32.const 0) (f32.gt (local.get $s) (f32.const 0)))))`
          : `(f32x4.mul (call $exp4 (f32x4.sub ${z()} ${get("ms")})) ${get("inv")})`;
        return `${loadMask}
      ${
          storeVec(
            at(get("ob"), get("j")),
            onValid(y, splat(0), valid(t) === null ? (hasMask ? maskValid : null) : valid(t)),
            t,
            get("len"),
          )
        }`;
      }, "p3")
    }`;
    return kernel(name, params, locals, `${init}\n${rowsOfTask(body)}`);
  }
  // backward: x = y, o = g, dx pointer after the tables
  const yv = vld(get("xb")), gv = vld(get("ob"));
  const body = `${rowStart}
    ${set("db", at(get("dxp"), `(i32.mul ${get("row")} ${get("len")})`))}
    ${set("acc", splat(0))}
    ${
    rowVec(
      get("len"),
      (t) =>
        `${loadMask}
      ${set("acc", `(f32x4.add ${get("acc")} ${onValid(log ? gv : `(f32x4.mul ${gv} ${yv})`, splat(0), valid(t))})`)}`,
      "b1",
    )
  }
    ${set("ms", `(f32x4.splat ${hsum(get("acc"), "tmp")})`)}
    ${
    rowVec(get("len"), (t) => {
      const d = log
        ? `(f32x4.sub ${gv} (f32x4.mul (call $exp4 ${yv}) ${get("ms")}))`
        : `(f32x4.mul ${yv} (f32x4.sub ${gv} ${get("ms")}))`;
      const v = hasMask ? maskValid : null;
      return `${loadMask}
      ${storeVec(at(get("db"), get("j")), onValid(`(f32x4.mul ${get("sc")} ${d})`, splat(0), v), t, get("len"))}`;
    }, "b2")
  }`;
  return kernel(
    name,
    params,
    locals,
    `${init}\n${set("dxp", `(i32.load offset=${4 * (SM_STR + MAX_RANK)} (local.get $p))`)}
  ${rowsOfTask(body)}`,
  );
}

function softmaxWords(p: SoftmaxPlan, x: Tensor, mask: Tensor | null, o: Tensor, extra?: Tensor): number[] {
  const w = new Array<number>(SM_STR + MAX_RANK + 1).fill(0);
  w[SM.x] = x.ptr;
  w[SM.m] = mask ? mask.ptr : 0;
  w[SM.o] = o.ptr;
  w[SM.rows] = p.rows;
  w[SM.len] = p.len;
  w[SM.perTask] = perTaskFor(p.len);
  w[SM.scale] = f32Word(p.scale);
  if (p.mask) {
    w[SM.leadRank] = p.mask.leadShape.length;
    w[SM.lastStride] = p.mask.lastStride;
    p.mask.leadShape.forEach((v, i) => (w[SM.shape + i] = v));
    p.mask.leadStrides.forEach((v, i) => (w[SM_STR + i] = v));
  }
  if (extra) w[SM_STR + MAX_RANK] = extra.ptr;
  return w;
}

function smName(p: SoftmaxPlan, pass: string, mask: Tensor | null): string {
  return `softmax_${pass}_${+p.log}_${mask ? p.mode : "none"}`;
}

export function softmaxForward(x: Tensor, mask: Tensor | null, out: Tensor, p: SoftmaxPlan): void {
  const tasks = Math.ceil(p.rows / perTaskFor(p.len));
  WasmRuntime.current().run(smName(p, "fwd", mask), softmaxWords(p, x, mask, out), tasks, p.rows * p.len * 40);
}

export function softmaxBackward(y: Tensor, g: Tensor, mask: Tensor | null, dx: Tensor, p: SoftmaxPlan): void {
  const tasks = Math.ceil(p.rows / perTaskFor(p.len));
  const words = softmaxWords(p, y, mask, g, dx);
  WasmRuntime.current().run(smName(p, "bwd", mask), words, tasks, p.rows * p.len * (p.log ? 30 : 12));
}

// ── norms ────────────────────────────────────────────────────────────────────────────────────────────────────────

function normFwdWat(kind: NormKind, hasW: boolean, hasB: boolean): string {
  const x = vld(get("xb"));
  const xc = `(f32x4.sub ${x} ${get("mu")})`;
  let y = `(f32x4.mul ${xc} ${get("r")})`;
  if (hasW) y = `(f32x4.mul ${y} ${vld(get("w"))})`;
  if (hasB) y = `(f32x4.add ${y} ${vld(get("b"))})`;
  const stats = kind === "rms" ? `${set("mu", splat(0))}` : `${set("acc", splat(0))}
    ${rowVec(get("len"), (t) => set("acc", `(f32x4.add ${get("acc")} ${onValid(x, splat(0), t)})`), "m1")}
    ${set("mu", `(f32x4.splat (f32.div ${hsum(get("acc"), "tmp")} (f32.convert_i32_s ${get("len")})))`)}`;
  return kernel(
    `norm_fwd_${kind}_${+hasW}${+hasB}`,
    ["x", "w", "b", "o", "st", "rows", "len", "perTask", "eps:f32"],
    [...ROW_LOCALS, "row", "rowEnd", "xb", "ob", "acc:v128", "mu:v128", "r:v128", "rs:f32"],
    rowsOfTask(`${set("xb", at(get("x"), `(i32.mul ${get("row")} ${get("len")})`))}
    ${set("ob", at(get("o"), `(i32.mul ${get("row")} ${get("len")})`))}
    ${stats}
    ${set("acc", splat(0))}
    ${
      rowVec(get("len"), (t) =>
        `(local.set $tmp ${xc})
      ${
          set(
            "acc",
            `(f32x4.add ${get("acc")} ${onValid("(f32x4.mul (local.get $tmp) (local.get $tmp))", splat(0), t)})`,
          )
        }`, "m2")
    }
    ;; r = (mean((x − μ)²) + eps)^(−1/2)
    ${
      set(
        "rs",
        `(f32.div (f32.const 1) (f32.sqrt (f32.add (f32.div ${hsum(get("acc"), "tmp")} (f32.convert_i32_s ${
          get("len")
        })) ${get("eps")})))`,
      )
    }
    ${set("r", "(f32x4.splat (local.get $rs))")}
    ${rowVec(get("len"), (t) => storeVec(at(get("ob"), get("j")), y, t, get("len")), "m3")}
    (f32.store ${at(get("st"), `(i32.shl ${get("row")} (i32.const 1))`)} (f32x4.extract_lane 0 ${get("mu")}))
    (f32.store offset=4 ${at(get("st"), `(i32.shl ${get("row")} (i32.const 1))`)} (local.get $rs))`),
  );
}

function normBwdXWat(kind: NormKind, hasW: boolean): string {
  const x = vld(get("xb")), g = vld(get("gb"));
  const gw = hasW ? `(f32x4.mul ${g} ${vld(get("w"))})` : g;
  const xh = `(f32x4.mul (f32x4.sub ${x} ${get("mu")}) ${get("r")})`;
  const n = `(f32.convert_i32_s ${get("len")})`;
  const sums = kind === "rms"
    ? `${set("acc", splat(0))}
    ${
      rowVec(
        get("len"),
        (t) => set("acc", `(f32x4.add ${get("acc")} ${onValid(`(f32x4.mul ${gw} ${x})`, splat(0), t)})`),
        "x1",
      )
    }
    ${set("ma", `(f32x4.splat (f32.div ${hsum(get("acc"), "tmp")} ${n}))`)}`
    : `${set("acc", splat(0))} ${set("acc2", splat(0))}
    ${
      rowVec(get("len"), (t) =>
        `(local.set $tv ${gw})
      ${set("acc", `(f32x4.add ${get("acc")} ${onValid("(local.get $tv)", splat(0), t)})`)}
      ${set("acc2", `(f32x4.add ${get("acc2")} ${onValid(`(f32x4.mul (local.get $tv) ${xh})`, splat(0), t)})`)}`, "x1")
    }
    ${set("ma", `(f32x4.splat (f32.div ${hsum(get("acc"), "tmp")} ${n}))`)}
    ${set("mb", `(f32x4.splat (f32.div ${hsum(get("acc2"), "tmp")} ${n}))`)}`;
  // rms: dx = r · (g⊙w − x · r² · mean(g⊙w⊙x));  ln: dx = r · (g⊙w − mean(g⊙w) − x̂ · mean(g⊙w⊙x̂))
  const dx = kind === "rms"
    ? `(f32x4.mul ${get("r")} (f32x4.sub ${gw} (f32x4.mul ${x} (f32x4.mul (f32x4.mul ${get("r")} ${get("r")}) ${
      get("ma")
    }))))`
    : `(f32x4.mul ${get("r")} (f32x4.sub (f32x4.sub ${gw} ${get("ma")}) (f32x4.mul ${xh} ${get("mb")})))`;
  return kernel(
    `norm_bwdx_${kind}_${+hasW}`,
    ["x", "w", "g", "st", "dx", "rows", "len", "perTask"],
    [
      ...ROW_LOCALS,
      "row",
      "rowEnd",
      "xb",
      "gb",
      "ob",
      "acc:v128",
      "acc2:v128",
      "mu:v128",
      "r:v128",
      "ma:v128",
      "mb:v128",
    ],
    rowsOfTask(`${set("xb", at(get("x"), `(i32.mul ${get("row")} ${get("len")})`))}
    ${set("gb", at(get("g"), `(i32.mul ${get("row")} ${get("len")})`))}
    ${set("ob", at(get("dx"), `(i32.mul ${get("row")} ${get("len")})`))}
    ${set("mu", `(v128.load32_splat ${at(get("st"), `(i32.shl ${get("row")} (i32.const 1))`)})`)}
    ${set("r", `(v128.load32_splat offset=4 ${at(get("st"), `(i32.shl ${get("row")} (i32.const 1))`)})`)}
    ${sums}
    ${rowVec(get("len"), (t) => storeVec(at(get("ob"), get("j")), dx, t, get("len")), "x2")}`),
  );
}

const COL_BLOCK = 256;

/** dw_c = Σ_rows g · (x − μ) · r, db_c = Σ_rows g, by column blocks, rows in order. */
const NORM_BWDW = kernel(
  "norm_bwdw",
  ["x", "g", "st", "dw", "db", "rows", "len"],
  ["t", "j0", "j1", "jv", "j", "r", "xr", "gr", "mu:v128", "rr:v128", "gv:v128"],
  loop(
    "t",
    get("t0"),
    get("t1"),
    `${set("j0", `(i32.mul ${get("t")} ${i32(COL_BLOCK)})`)}
    ${set("j1", min(`(i32.add ${get("j0")} ${i32(COL_BLOCK)})`, get("len")))}
    ${set("jv", `(i32.add ${get("j0")} (i32.and (i32.sub ${get("j1")} ${get("j0")}) ${i32(-4)}))`)}
    ${
      loop(
        "j",
        get("j0"),
        get("j1"),
        `(f32.store ${at(get("dw"), get("j"))} (f32.const 0)) (f32.store ${at(get("db"), get("j"))} (f32.const 0))`,
      )
    }
    ${
      loop(
        "r",
        i32(0),
        get("rows"),
        `${set("xr", at(get("x"), `(i32.mul ${get("r")} ${get("len")})`))}
        ${set("gr", at(get("g"), `(i32.mul ${get("r")} ${get("len")})`))}
        ${set("mu", `(v128.load32_splat ${at(get("st"), `(i32.shl ${get("r")} (i32.const 1))`)})`)}
        ${set("rr", `(v128.load32_splat offset=4 ${at(get("st"), `(i32.shl ${get("r")} (i32.const 1))`)})`)}
        ${
          loop(
            "j",
            get("j0"),
            get("jv"),
            `${set("gv", vld(get("gr")))}
            (v128.store ${at(get("dw"), get("j"))} (f32x4.add ${vld(get("dw"))}
              (f32x4.mul ${get("gv")} (f32x4.mul (f32x4.sub ${vld(get("xr"))} ${get("mu")}) ${get("rr")}))))
            (v128.store ${at(get("db"), get("j"))} (f32x4.add ${vld(get("db"))} ${get("gv")}))`,
            4,
          )
        }
        (block $B_t (loop $L_t
          (br_if $B_t (i32.ge_s ${get("j")} ${get("j1")}))
          (f32.store ${at(get("dw"), get("j"))} (f32.add (f32.load ${at(get("dw"), get("j"))})
            (f32.mul (f32.load ${at(get("gr"), get("j"))}) (f32.mul (f32.sub (f32.load ${at(get("xr"), get("j"))})
              (f32x4.extract_lane 0 ${get("mu")})) (f32x4.extract_lane 0 ${get("rr")})))))
          (f32.store ${at(get("db"), get("j"))} (f32.add (f32.load ${at(get("db"), get("j"))}) (f32.load ${
          at(get("gr"), get("j"))
        })))
          ${set("j", `(i32.add ${get("j")} ${i32(1)})`)}
          (br $L_t)))`,
      )
    }`,
  ),
);

const normName = (p: NormPlan) => p.kind;

export function normForward(x: Tensor, w: Tensor | null, b: Tensor | null, out: Tensor, stats: Tensor, p: NormPlan) {
  const per = perTaskFor(p.len);
  const words = [x.ptr, w?.ptr ?? 0, b?.ptr ?? 0, out.ptr, stats.ptr, p.rows, p.len, per, f32Word(p.eps)];
  WasmRuntime.current().run(
    `norm_fwd_${normName(p)}_${+!!w}${+!!b}`,
    words,
    Math.ceil(p.rows / per),
    p.rows * p.len * 10,
  );
}

export function normBackwardX(x: Tensor, w: Tensor | null, g: Tensor, stats: Tensor, dx: Tensor, p: NormPlan) {
  const per = perTaskFor(p.len);
  const words = [x.ptr, w?.ptr ?? 0, g.ptr, stats.ptr, dx.ptr, p.rows, p.len, per];
  WasmRuntime.current().run(`norm_bwdx_${normName(p)}_${+!!w}`, words, Math.ceil(p.rows / per), p.rows * p.len * 12);
}

export function normBackwardW(x: Tensor, g: Tensor, stats: Tensor, dw: Tensor, db: Tensor, p: NormPlan) {
  const words = [x.ptr, g.ptr, stats.ptr, dw.ptr, db.ptr, p.rows, p.len];
  WasmRuntime.current().run("norm_bwdw", words, Math.ceil(p.len / COL_BLOCK), p.rows * p.len * 12);
}

// ── cross-entropy ────────────────────────────────────────────────────────────────────────────────────────────────

const MODES = { mean: 0, sum: 1, none: 2 } as const;
/** The target of row $row is valid: not ignored and inside [0, len). */
const TARGET_VALID = `(i32.and (i32.ne ${get("tg")} ${get("ignore")})
  (i32.and (i32.ge_s ${get("tg")} (i32.const 0)) (i32.lt_s ${get("tg")} ${get("len")})))`;

const XENT_ROWS = kernel(
  "xent_rows",
  ["x", "tp", "lp", "lsep", "rows", "len", "perTask", "ignore"],
  [...ROW_LOCALS, "row", "rowEnd", "xb", "tg", "acc:v128", "ms:v128", "m:f32", "lse:f32"],
  rowsOfTask(`${set("xb", at(get("x"), `(i32.mul ${get("row")} ${get("len")})`))}
  ${set("acc", splat(-MAXF))}
  ${
    rowVec(get("len"), (t) =>
      set("acc", `(f32x4.pmax ${get("acc")} ${onValid(vld(get("xb")), splat(-MAXF), t)})`), "c1")
  }
  ${set("m", hmax(get("acc"), "tmp"))}
  ${set("ms", "(f32x4.splat (local.get $m))")}
  ${set("acc", splat(0))}
  ${
    rowVec(get("len"), (t) =>
      set(
        "acc",
        `(f32x4.add ${get("acc")} ${onValid(`(call $exp4 (f32x4.sub ${vld(get("xb"))} ${get("ms")}))`, splat(0), t)})`,
      ), "c2")
  }
  ${set("lse", `(f32.add (local.get $m) (call $log1 ${hsum(get("acc"), "tmp")}))`)}
  ${set("tg", `(i32.load ${at(get("tp"), get("row"))})`)}
  ;; fwd: loss = −log softmax(x)[t] = lse − x[t]
  (f32.store ${at(get("lp"), get("row"))} (select
    (f32.sub (local.get $lse) (f32.load ${at(get("xb"), `(select ${get("tg")} (i32.const 0) ${TARGET_VALID})`)}))
    (f32.const 0) ${TARGET_VALID}))
  (f32.store ${at(get("lsep"), get("row"))} (local.get $lse))`),
);

const XENT_REDUCE = kernel(
  "xent_reduce",
  ["lp", "tp", "op", "cp", "rows", "len", "ignore", "mode"],
  ["row", "tg", "total:f32", "n:f32"],
  `${
    loop(
      "row",
      i32(0),
      get("rows"),
      `${set("tg", `(i32.load ${at(get("tp"), get("row"))})`)}
      ${set("total", `(f32.add (local.get $total) (f32.load ${at(get("lp"), get("row"))}))`)}
      ${set("n", `(f32.add (local.get $n) (f32.convert_i32_u ${TARGET_VALID}))`)}`,
    )
  }
  (f32.store (local.get $op) (select (f32.div (local.get $total) (f32.max (local.get $n) (f32.const 1))) (local.get $total)
    (i32.eqz (local.get $mode))))
  (f32.store (local.get $cp) (local.get $n))`,
);

const XENT_BWD = kernel(
  "xent_bwd",
  ["x", "tp", "lsep", "gp", "cp", "dx", "rows", "len", "perTask", "ignore", "mode"],
  [...ROW_LOCALS, "row", "rowEnd", "xb", "ob", "tg", "s:f32", "sv:v128", "lv:v128"],
  rowsOfTask(`${set("xb", at(get("x"), `(i32.mul ${get("row")} ${get("len")})`))}
  ${set("ob", at(get("dx"), `(i32.mul ${get("row")} ${get("len")})`))}
  ${set("tg", `(i32.load ${at(get("tp"), get("row"))})`)}
  ;; s_r = g / count (mean), g (sum), g_r (none); 0 for ignored rows
  ${
    set(
      "s",
      `(if (result f32) (i32.eqz ${get("mode")})
      (then (f32.div (f32.load ${get("gp")}) (f32.max (f32.load ${get("cp")}) (f32.const 1))))
      (else (if (result f32) (i32.eq ${get("mode")} (i32.const 1)) (then (f32.load ${get("gp")}))
        (else (f32.load ${at(get("gp"), get("row"))})))))`,
    )
  }
  ${set("s", `(select (local.get $s) (f32.const 0) ${TARGET_VALID})`)}
  ${set("sv", "(f32x4.splat (local.get $s))")}
  ${set("lv", `(v128.load32_splat ${at(get("lsep"), get("row"))})`)}
  ;; dx = s · (softmax(x) − onehot(t))
  ${
    rowVec(get("len"), (t) =>
      storeVec(
        at(get("ob"), get("j")),
        `(f32x4.mul ${get("sv")} (call $exp4 (f32x4.sub ${vld(get("xb"))} ${get("lv")})))`,
        t,
        get("len"),
      ), "c3")
  }
  (if ${TARGET_VALID} (then
    (f32.store ${at(get("ob"), get("tg"))} (f32.sub (f32.load ${at(get("ob"), get("tg"))}) (local.get $s)))))`),
);

export function crossEntropyRows(logits: Tensor, targets: Tensor, losses: Tensor, lse: Tensor, p: CrossEntropyPlan) {
  const per = perTaskFor(p.len);
  const words = [logits.ptr, targets.ptr, losses.ptr, lse.ptr, p.rows, p.len, per, p.ignore];
  WasmRuntime.current().run("xent_rows", words, Math.ceil(p.rows / per), p.rows * p.len * 25);
}

export function crossEntropyReduce(losses: Tensor, targets: Tensor, out: Tensor, count: Tensor, p: CrossEntropyPlan) {
  const words = [losses.ptr, targets.ptr, out.ptr, count.ptr, p.rows, p.len, p.ignore, MODES[p.reduction]];
  WasmRuntime.current().run("xent_reduce", words, 1, p.rows);
}

export const crossEntropyBackward: Backend["crossEntropyBackward"] = (logits, targets, lse, g, count, dx, p) => {
  const per = perTaskFor(p.len);
  const words = [
    logits.ptr,
    targets.ptr,
    lse.ptr,
    g.ptr,
    count.ptr,
    dx.ptr,
    p.rows,
    p.len,
    per,
    p.ignore,
    MODES[p.reduction],
  ];
  WasmRuntime.current().run("xent_bwd", words, Math.ceil(p.rows / per), p.rows * p.len * 25);
};

// ── l2Normalize ──────────────────────────────────────────────────────────────────────────────────────────────────

/** Line $row of (outer, len, inner): its first element's index ($base) and the element stride ($inner). */
const LINE_BASE = set(
  "base",
  `(i32.add (i32.mul (i32.mul (i32.div_u ${get("row")} ${get("inner")}) ${get("len")}) ${get("inner")})
    (i32.rem_u ${get("row")} ${get("inner")}))`,
);
const el = (ptr: string, c: string) => at(ptr, `(i32.add ${get("base")} (i32.mul ${c} ${get("inner")}))`);

const L2_FWD = kernel(
  "l2_fwd",
  ["x", "y", "nrm", "rows", "len", "inner", "perTask", "eps:f32"],
  [...ROW_LOCALS, "row", "rowEnd", "base", "c", "xb", "ob", "acc:v128", "n:f32", "s:f32", "inv:f32"],
  rowsOfTask(`${LINE_BASE}
  (if (i32.eq ${get("inner")} (i32.const 1))
    (then
      ${set("xb", at(get("x"), get("base")))}
      ${set("ob", at(get("y"), get("base")))}
      ${set("acc", splat(0))}
      ${
    rowVec(get("len"), (t) =>
      `(local.set $tv ${onValid(vld(get("xb")), splat(0), t)})
      ${set("acc", "(f32x4.add (local.get $acc) (f32x4.mul (local.get $tv) (local.get $tv)))")}`, "l1")
  }
      ${set("n", `(f32.sqrt ${hsum(get("acc"), "tmp")})`)}
      ${set("inv", "(f32.div (f32.const 1) (f32.max (local.get $n) (local.get $eps)))")}
      ${
    rowVec(
      get("len"),
      (t) =>
        storeVec(
          at(get("ob"), get("j")),
          `(f32x4.mul ${vld(get("xb"))} (f32x4.splat (local.get $inv)))`,
          t,
          get("len"),
        ),
      "l2",
    )
  })
    (else
      ${set("s", "(f32.const 0)")}
      ${
    loop(
      "c",
      i32(0),
      get("len"),
      `(local.set $n (f32.load ${el(get("x"), get("c"))})) ${
        set("s", "(f32.add (local.get $s) (f32.mul (local.get $n) (local.get $n)))")
      }`,
    )
  }
      ${set("n", "(f32.sqrt (local.get $s))")}
      ${set("inv", "(f32.div (f32.const 1) (f32.max (local.get $n) (local.get $eps)))")}
      ${
    loop(
      "c",
      i32(0),
      get("len"),
      `(f32.store ${el(get("y"), get("c"))} (f32.mul (f32.load ${el(get("x"), get("c"))}) (local.get $inv)))`,
    )
  }))
  (f32.store ${at(get("nrm"), get("row"))} (local.get $n))`),
);

// ‖x‖ > eps: dx = (g − y · Σ g ⊙ y) / ‖x‖;  ‖x‖ ≤ eps: dx = g / eps
const L2_BWD = kernel(
  "l2_bwd",
  ["y", "g", "nrm", "dx", "rows", "len", "inner", "perTask", "eps:f32"],
  [...ROW_LOCALS, "row", "rowEnd", "base", "c", "yb", "gb", "ob", "acc:v128", "n:f32", "dot:f32", "inv:f32"],
  rowsOfTask(`${LINE_BASE}
  ${set("n", `(f32.load ${at(get("nrm"), get("row"))})`)}
  ${set("inv", "(f32.div (f32.const 1) (f32.max (local.get $n) (local.get $eps)))")}
  (if (i32.eq ${get("inner")} (i32.const 1))
    (then
      ${set("yb", at(get("y"), get("base")))}
      ${set("gb", at(get("g"), get("base")))}
      ${set("ob", at(get("dx"), get("base")))}
      ${set("acc", splat(0))}
      ${
    rowVec(get("len"), (t) =>
      set(
        "acc",
        `(f32x4.add (local.get $acc) ${onValid(`(f32x4.mul ${vld(get("gb"))} ${vld(get("yb"))})`, splat(0), t)})`,
      ), "k1")
  }
      ${set("dot", `(select ${hsum(get("acc"), "tmp")} (f32.const 0) (f32.gt (local.get $n) (local.get $eps)))`)}
      ${
    rowVec(get("len"), (t) =>
      storeVec(
        at(get("ob"), get("j")),
        `(f32x4.mul (f32x4.sub ${vld(get("gb"))} (f32x4.mul ${
          vld(get("yb"))
        } (f32x4.splat (local.get $dot)))) (f32x4.splat (local.get $inv)))`,
        t,
        get("len"),
      ), "k2")
  })
    (else
      ${set("dot", "(f32.const 0)")}
      ${
    loop(
      "c",
      i32(0),
      get("len"),
      set(
        "dot",
        `(f32.add (local.get $dot) (f32.mul (f32.load ${el(get("g"), get("c"))}) (f32.load ${
          el(get("y"), get("c"))
        })))`,
      ),
    )
  }
      ${set("dot", "(select (local.get $dot) (f32.const 0) (f32.gt (local.get $n) (local.get $eps)))")}
      ${
    loop(
      "c",
      i32(0),
      get("len"),
      `(f32.store ${el(get("dx"), get("c"))} (f32.mul (f32.sub (f32.load ${el(get("g"), get("c"))})
        (f32.mul (f32.load ${el(get("y"), get("c"))}) (local.get $dot))) (local.get $inv)))`,
    )
  }))`),
);

export function l2Forward(x: Tensor, y: Tensor, norms: Tensor, p: L2Plan): void {
  const per = perTaskFor(p.len);
  const words = [x.ptr, y.ptr, norms.ptr, p.lines, p.len, p.inner, per, f32Word(p.eps)];
  WasmRuntime.current().run("l2_fwd", words, Math.ceil(p.lines / per), p.lines * p.len * 6);
}

export function l2Backward(y: Tensor, g: Tensor, norms: Tensor, dx: Tensor, p: L2Plan): void {
  const per = perTaskFor(p.len);
  const words = [y.ptr, g.ptr, norms.ptr, dx.ptr, p.lines, p.len, p.inner, per, f32Word(p.eps)];
  WasmRuntime.current().run("l2_bwd", words, Math.ceil(p.lines / per), p.lines * p.len * 8);
}

// ── topk ─────────────────────────────────────────────────────────────────────────────────────────────────────────

/** (v, i) before (bv, bi) in the order value desc, index asc; NONE (−1) is last. */
const before = (v: string, i: string, bv: string, bi: string) =>
  `(i32.and (i32.ne ${i} (i32.const -1)) (i32.or (i32.eq ${bi} (i32.const -1))
    (i32.or (f32.gt ${v} ${bv}) (i32.and (f32.eq ${v} ${bv}) (i32.lt_s ${i} ${bi})))))`;

const TOPK = kernel(
  "topk",
  ["x", "vp", "ip", "rows", "len", "k", "perTask"],
  ["row", "rowEnd", "xb", "t", "c", "pi", "bi", "pv:f32", "bv:f32", "v:f32"],
  rowsOfTask(`${set("xb", at(get("x"), `(i32.mul ${get("row")} ${get("len")})`))}
  ${set("pi", "(i32.const -1)")}
  ${
    loop(
      "t",
      i32(0),
      get("k"),
      `${set("bi", "(i32.const -1)")} ${set("bv", "(f32.const 0)")}
      ${
        loop(
          "c",
          i32(0),
          get("len"),
          `${set("v", `(f32.load ${at(get("xb"), get("c"))})`)}
          ;; eligible: strictly after the previous pick in the order
          (if (i32.and (i32.or (i32.eq ${get("pi")} (i32.const -1)) ${before(get("pv"), get("pi"), get("v"), get("c"))})
                ${before(get("v"), get("c"), get("bv"), get("bi"))})
            (then ${set("bv", get("v"))} ${set("bi", get("c"))}))`,
        )
      }
      ${set("pv", get("bv"))} ${set("pi", get("bi"))}
      (f32.store ${at(get("vp"), `(i32.add (i32.mul ${get("row")} ${get("k")}) ${get("t")})`)} (local.get $pv))
      (i32.store ${at(get("ip"), `(i32.add (i32.mul ${get("row")} ${get("k")}) ${get("t")})`)} (local.get $pi))`,
    )
  }`),
);

export function topk(x: Tensor, values: Tensor, indices: Tensor, p: { rows: number; len: number; k: number }): void {
  const per = perTaskFor(p.len * Math.max(1, p.k));
  const words = [x.ptr, values.ptr, indices.ptr, p.rows, p.len, p.k, per];
  WasmRuntime.current().run("topk", words, Math.ceil(p.rows / per), p.rows * p.len * p.k * 4);
}

export function rowsWat(_f: WasmFeatures): string {
  const out: string[] = [];
  for (const log of [false, true]) {
    for (const mode of ["none", "keep", "additive"] as const) {
      out.push(softmaxWat(log, mode, false), softmaxWat(log, mode, true));
    }
  }
  for (const kind of ["rms", "ln"] as const) {
    for (const w of [false, true]) {
      for (const b of [false, true]) out.push(normFwdWat(kind, w, b));
      out.push(normBwdXWat(kind, w));
    }
  }
  out.push(NORM_BWDW, XENT_ROWS, XENT_REDUCE, XENT_BWD, L2_FWD, L2_BWD, TOPK);
  return out.join("\n");
}
