/**
 * WASM kernels for rotary embeddings (vectorised over each row's D/2 pairs), integer indexing (indexSelect with an
 * in-order scatter-add backward, gather and its backward by scan, as the WGSL kernels), and the optimiser
 * (Σ g² partials per chunk then an in-order total, scaling by the clip coefficient, AdamW in place).
 */
import { f32Word, WasmRuntime } from "../runtime.ts";
import type { WasmFeatures } from "../runtime.ts";
import { at, get, hsum, i32, kernel, loop, min, set, splat } from "../wat.ts";
import { contiguousStrides, MAX_RANK } from "../../kernels/shapes.ts";
import type { AdamWPlan, GatherPlan, IndexPlan, RopePlan } from "../../kernels/types.ts";
import { Tensor } from "../../tensor.ts";
import { at2, loadElem } from "./half.ts";
import { onValid, perTaskFor, ROW_LOCALS, rowsOfTask, rowVec, storeVec, TASK_ELEMS, vld } from "./rowwat.ts";

// ── rope ─────────────────────────────────────────────────────────────────────────────────────────────────────────

// y[j] = x[j]·cos − x[j + D/2]·sin ; y[j + D/2] = x[j + D/2]·cos + x[j]·sin   (sin negated for the backward)
const ROPE = kernel(
  "rope",
  ["x", "cp", "sp", "o", "rows", "half", "T", "rowsPerTok", "rowsPerBatch", "tableBatch", "sign:f32", "perTask"],
  [...ROW_LOCALS, "row", "rowEnd", "xb", "ob", "kb", "x1:v128", "x2:v128", "c:v128", "s:v128"],
  rowsOfTask(`${set("xb", at(get("x"), `(i32.mul ${get("row")} (i32.shl ${get("half")} (i32.const 1)))`))}
  ${set("ob", at(get("o"), `(i32.mul ${get("row")} (i32.shl ${get("half")} (i32.const 1)))`))}
  ${
    set(
      "kb",
      `(i32.add (i32.mul (i32.div_u ${get("row")} ${get("rowsPerBatch")}) ${get("tableBatch")})
      (i32.mul (i32.rem_u (i32.div_u ${get("row")} ${get("rowsPerTok")}) ${get("T")}) ${get("half")}))`,
    )
  }
  ${
    rowVec(get("half"), (t) =>
      `${set("x1", vld(get("xb")))}
    ${set("x2", vld(at(get("xb"), get("half"))))}
    ${set("c", vld(at(get("cp"), get("kb"))))}
    ${set("s", `(f32x4.mul ${vld(at(get("sp"), get("kb")))} (f32x4.splat (local.get $sign)))`)}
    ${
        storeVec(
          at(get("ob"), get("j")),
          "(f32x4.sub (f32x4.mul (local.get $x1) (local.get $c)) (f32x4.mul (local.get $x2) (local.get $s)))",
          t,
          get("half"),
        )
      }
    ${
        storeVec(
          at(at(get("ob"), get("half")), get("j")),
          "(f32x4.add (f32x4.mul (local.get $x2) (local.get $c)) (f32x4.mul (local.get $x1) (local.get $s)))",
          t,
          get("half"),
        )
      }`)
  }`),
);

export function rope(x: Tensor, cos: Tensor, sin: Tensor, out: Tensor, p: RopePlan): void {
  const rows = p.nPairs / p.half;
  const per = perTaskFor(2 * p.half);
  const words = [
    x.ptr,
    cos.ptr,
    sin.ptr,
    out.ptr,
    rows,
    p.half,
    p.T,
    p.rowsPerTok,
    p.rowsPerBatch,
    p.tableBatch,
    f32Word(p.sign),
    per,
  ];
  WasmRuntime.current().run("rope", words, Math.ceil(rows / per), p.nPairs * 24);
}

// ── indexSelect / gather ─────────────────────────────────────────────────────────────────────────────────────────

/**
 * The index_select rows: out row (o, k) ← x row (o, idx[k]) of `inner` elements, zeros for an out-of-range index.
 * `srcAt` addresses x's elements (f32: `at`, f16: `at2`); `copy` moves row `src` into `ob`, `zero` clears `ob`.
 */
function indexSelectRows(srcAt: (base: string, i: string) => string, copy: string, zero: string): string {
  return rowsOfTask(`${set("v", `(i32.load ${at(get("ip"), `(i32.rem_u ${get("row")} ${get("k")})`)})`)}
  ${set("ob", at(get("o"), `(i32.mul ${get("row")} ${get("inner")})`))}
  (if (i32.and (i32.ge_s ${get("v")} (i32.const 0)) (i32.lt_s ${get("v")} ${get("len")}))
    (then
      ${
    set(
      "src",
      srcAt(
        get("x"),
        `(i32.mul (i32.add (i32.mul (i32.div_u ${get("row")} ${get("k")}) ${get("len")}) ${get("v")}) ${get("inner")})`,
      ),
    )
  }
      ${copy})
    (else ${zero}))`);
}

const INDEX_SELECT_ARGS = ["x", "ip", "o", "rows", "len", "inner", "k", "perTask"];

/** index_select over f32 storage, four lanes at a time. */
const INDEX_SELECT = kernel(
  "index_select",
  INDEX_SELECT_ARGS,
  [...ROW_LOCALS, "row", "rowEnd", "v", "src", "ob"],
  indexSelectRows(
    at,
    rowVec(get("inner"), (t) => storeVec(at(get("ob"), get("j")), vld(get("src")), t, get("inner")), "s1"),
    rowVec(get("inner"), (t) => storeVec(at(get("ob"), get("j")), splat(0), t, get("inner")), "s2"),
  ),
);

/** index_select over f16 storage (frozen embeddings): each element widened to f32 ($h2f, core/wasm/kernels/half.ts). */
const INDEX_SELECT_H = kernel(
  "index_select_h",
  INDEX_SELECT_ARGS,
  ["row", "rowEnd", "v", "src", "ob", "j"],
  indexSelectRows(
    at2,
    loop("j", i32(0), get("inner"), `(f32.store ${at(get("ob"), get("j"))} ${loadElem(get("src"), get("j"), true)})`),
    loop("j", i32(0), get("inner"), `(f32.store ${at(get("ob"), get("j"))} (f32.const 0))`),
  ),
);

const COL_BLOCK = 256;

/**
 * dx (outer, len, inner) = Σ_{k: idx[k] = v} g[o, k, :], positions k in ascending order (the order the GPU's
 * bucketed sums use); task = (o, block of COL_BLOCK inner columns).
 */
const INDEX_SELECT_BWD = kernel(
  "index_select_bwd",
  ["g", "ip", "dx", "outer", "len", "inner", "k", "blocks"],
  ["t", "o", "j0", "j1", "j", "kk", "v", "src", "dst", "jv"],
  loop(
    "t",
    get("t0"),
    get("t1"),
    `${set("o", `(i32.div_u ${get("t")} ${get("blocks")})`)}
    ${set("j0", `(i32.mul (i32.rem_u ${get("t")} ${get("blocks")}) ${i32(COL_BLOCK)})`)}
    ${set("j1", min(`(i32.add ${get("j0")} ${i32(COL_BLOCK)})`, get("inner")))}
    ${set("jv", `(i32.add ${get("j0")} (i32.and (i32.sub ${get("j1")} ${get("j0")}) ${i32(-4)}))`)}
    ${
      loop(
        "v",
        i32(0),
        get("len"),
        `${
          set(
            "dst",
            at(get("dx"), `(i32.mul (i32.add (i32.mul ${get("o")} ${get("len")}) ${get("v")}) ${get("inner")})`),
          )
        }
        ${loop("j", get("j0"), get("j1"), `(f32.store ${at(get("dst"), get("j"))} (f32.const 0))`)}`,
      )
    }
    ${
      loop(
        "kk",
        i32(0),
        get("k"),
        `${set("v", `(i32.load ${at(get("ip"), get("kk"))})`)}
        (if (i32.and (i32.ge_s ${get("v")} (i32.const 0)) (i32.lt_s ${get("v")} ${get("len")})) (then
          ${
          set("src", at(get("g"), `(i32.mul (i32.add (i32.mul ${get("o")} ${get("k")}) ${get("kk")}) ${get("inner")})`))
        }
          ${
          set(
            "dst",
            at(get("dx"), `(i32.mul (i32.add (i32.mul ${get("o")} ${get("len")}) ${get("v")}) ${get("inner")})`),
          )
        }
          ${
          loop(
            "j",
            get("j0"),
            get("jv"),
            `(v128.store ${at(get("dst"), get("j"))} (f32x4.add ${vld(get("dst"))} ${vld(get("src"))}))`,
            4,
          )
        }
          (block $B_t (loop $L_t
            (br_if $B_t (i32.ge_s ${get("j")} ${get("j1")}))
            (f32.store ${at(get("dst"), get("j"))} (f32.add (f32.load ${at(get("dst"), get("j"))}) (f32.load ${
          at(get("src"), get("j"))
        })))
            ${set("j", `(i32.add ${get("j")} ${i32(1)})`)}
            (br $L_t)))))`,
      )
    }`,
  ),
);

// gather tables: xShape, xStr, iShape, iStr (MAX_RANK words each) after 8 header words
const G = { x: 0, ip: 1, o: 2, n: 3, rank: 4, axis: 5, perTask: 6, xShape: 8 } as const;
const G_XSTR = G.xShape + MAX_RANK, G_ISHAPE = G_XSTR + MAX_RANK, G_ISTR = G_ISHAPE + MAX_RANK;
const tab = (w: number) => `(i32.add (local.get $p) ${i32(4 * w)})`;
const tabAt = (w: number, d: string) => `(i32.load ${at(tab(w), d)})`;

/** out[i] = x[c with c_axis := index[i]] over the index's shape; an out-of-range index reads 0. */
const GATHER = kernel(
  "gather",
  ["x", "ip", "o", "n", "rank", "axis", "perTask"],
  ["row", "rowEnd", "rows", "rem", "d", "c", "off", "v"],
  `${set("rows", get("n"))}
  ${
    rowsOfTask(`${set("rem", get("row"))} ${set("off", "(i32.const 0)")}
    ${set("d", `(i32.sub ${get("rank")} (i32.const 1))`)}
    (block $B_d (loop $L_d
      (br_if $B_d (i32.lt_s ${get("d")} (i32.const 0)))
      ${set("c", `(i32.rem_u ${get("rem")} ${tabAt(G_ISHAPE, get("d"))})`)}
      ${set("rem", `(i32.div_u ${get("rem")} ${tabAt(G_ISHAPE, get("d"))})`)}
      (if (i32.ne ${get("d")} ${get("axis")}) (then ${
      set("off", `(i32.add ${get("off")} (i32.mul ${get("c")} ${tabAt(G_XSTR, get("d"))}))`)
    }))
      ${set("d", `(i32.sub ${get("d")} (i32.const 1))`)}
      (br $L_d)))
    ${set("v", `(i32.load ${at(get("ip"), get("row"))})`)}
    (f32.store ${at(get("o"), get("row"))} (select
      (f32.load ${
      at(
        get("x"),
        `(i32.add ${get("off")} (i32.mul (select ${get("v")} (i32.const 0) (i32.ge_s ${get("v")} (i32.const 0))) ${
          tabAt(G_XSTR, get("axis"))
        }))`,
      )
    })
      (f32.const 0)
      (i32.and (i32.ge_s ${get("v")} (i32.const 0)) (i32.lt_s ${get("v")} ${tabAt(G.xShape, get("axis"))}))))`)
  }`,
);

/** dx[c] = Σ_j [index[c with c_axis := j] = c_axis] · g[same], over the dx (= x) shape. */
const GATHER_BWD = kernel(
  "gather_bwd",
  ["g", "ip", "dx", "n", "rank", "axis", "perTask"],
  ["row", "rowEnd", "rows", "rem", "d", "c", "ca", "base", "inside", "jj", "kk", "acc:f32"],
  `${set("rows", get("n"))}
  ${
    rowsOfTask(`${set("rem", get("row"))} ${set("base", "(i32.const 0)")} ${set("inside", "(i32.const 1)")}
    ${set("d", `(i32.sub ${get("rank")} (i32.const 1))`)}
    (block $B_d (loop $L_d
      (br_if $B_d (i32.lt_s ${get("d")} (i32.const 0)))
      ${set("c", `(i32.rem_u ${get("rem")} ${tabAt(G.xShape, get("d"))})`)}
      ${set("rem", `(i32.div_u ${get("rem")} ${tabAt(G.xShape, get("d"))})`)}
      (if (i32.eq ${get("d")} ${get("axis")})
        (then ${set("ca", get("c"))})
        (else
          ${set("inside", `(i32.and ${get("inside")} (i32.lt_s ${get("c")} ${tabAt(G_ISHAPE, get("d"))}))`)}
          ${set("base", `(i32.add ${get("base")} (i32.mul ${get("c")} ${tabAt(G_ISTR, get("d"))}))`)}))
      ${set("d", `(i32.sub ${get("d")} (i32.const 1))`)}
      (br $L_d)))
    ${set("acc", "(f32.const 0)")}
    (if ${get("inside")} (then ${
      loop(
        "jj",
        i32(0),
        tabAt(G_ISHAPE, get("axis")),
        `${set("kk", `(i32.add ${get("base")} (i32.mul ${get("jj")} ${tabAt(G_ISTR, get("axis"))}))`)}
        (if (i32.eq (i32.load ${at(get("ip"), get("kk"))}) ${get("ca")})
          (then ${set("acc", `(f32.add ${get("acc")} (f32.load ${at(get("g"), get("kk"))}))`)}))`,
      )
    }))
    (f32.store ${at(get("dx"), get("row"))} (local.get $acc))`)
  }`,
);

export function indexSelect(x: Tensor, idx: Tensor, out: Tensor, p: IndexPlan): void {
  const rows = p.outer * p.k;
  const per = perTaskFor(p.inner);
  const words = [x.ptr, idx.ptr, out.ptr, rows, p.len, p.inner, p.k, per];
  WasmRuntime.current().run(
    x.dtype === "f16" ? "index_select_h" : "index_select",
    words,
    Math.ceil(rows / per),
    out.size * 8,
  );
}

export function indexSelectBackward(g: Tensor, idx: Tensor, _host: Int32Array | null, dx: Tensor, p: IndexPlan): void {
  const blocks = Math.ceil(p.inner / COL_BLOCK);
  const words = [g.ptr, idx.ptr, dx.ptr, p.outer, p.len, p.inner, p.k, blocks];
  WasmRuntime.current().run("index_select_bwd", words, p.outer * blocks, (dx.size + g.size) * 8);
}

function gatherWords(x: Tensor, index: Tensor, out: Tensor, n: number, p: GatherPlan): number[] {
  const w = new Array<number>(G_ISTR + MAX_RANK).fill(0);
  w[G.x] = x.ptr;
  w[G.ip] = index.ptr;
  w[G.o] = out.ptr;
  w[G.n] = n;
  w[G.rank] = p.rank;
  w[G.axis] = p.axis;
  w[G.perTask] = 4096;
  [p.xShape, contiguousStrides(p.xShape), p.indexShape, contiguousStrides(p.indexShape)].forEach((t, k) =>
    t.forEach((v, i) => (w[G.xShape + k * MAX_RANK + i] = v))
  );
  return w;
}

export function gather(x: Tensor, index: Tensor, out: Tensor, p: GatherPlan): void {
  WasmRuntime.current().run(
    "gather",
    gatherWords(x, index, out, out.size, p),
    Math.ceil(out.size / 4096),
    out.size * 20,
  );
}

export function gatherBackward(g: Tensor, index: Tensor, dx: Tensor, p: GatherPlan): void {
  const work = dx.size * p.indexShape[p.axis] * 4;
  WasmRuntime.current().run("gather_bwd", gatherWords(g, index, dx, dx.size, p), Math.ceil(dx.size / 4096), work);
}

// ── optimiser ────────────────────────────────────────────────────────────────────────────────────────────────────

/** parts[t] = Σ g² over chunk t of one gradient. */
const SUMSQ = kernel(
  "sumsq",
  ["gp", "n", "parts"],
  ["t", "i", "end", "acc:v128", "lm:v128", "tmp:v128", "v:v128"],
  loop(
    "t",
    get("t0"),
    get("t1"),
    `${set("i", `(i32.mul ${get("t")} ${i32(TASK_ELEMS)})`)}
    ${set("end", min(`(i32.add ${get("i")} ${i32(TASK_ELEMS)})`, get("n")))}
    ${set("acc", splat(0))}
    (block $B_i (loop $L_i
      (br_if $B_i (i32.ge_s ${get("i")} ${get("end")}))
      ${set("lm", `(i32x4.lt_s (v128.const i32x4 0 1 2 3) (i32x4.splat (i32.sub ${get("end")} ${get("i")})))`)}
      ${set("v", onValid(vld(get("gp"), get("i")), splat(0), get("lm")))}
      ${set("acc", "(f32x4.add (local.get $acc) (f32x4.mul (local.get $v) (local.get $v)))")}
      ${set("i", `(i32.add ${get("i")} ${i32(4)})`)}
      (br $L_i)))
    (f32.store ${at(get("parts"), get("t"))} ${hsum(get("acc"), "tmp")})`,
  ),
);

/** stats = [√Σ parts (in order), min(1, maxNorm / (norm + eps))] (clip coefficient as PyTorch). */
const CLIP_TOTAL = kernel(
  "clip_total",
  ["parts", "n", "st", "maxNorm:f32", "eps:f32"],
  ["i", "s:f32"],
  `${loop("i", i32(0), get("n"), set("s", `(f32.add (local.get $s) (f32.load ${at(get("parts"), get("i"))}))`))}
  ${set("s", "(f32.sqrt (local.get $s))")}
  (f32.store (local.get $st) (local.get $s))
  (f32.store offset=4 (local.get $st) (f32.min (f32.const 1) (f32.div (local.get $maxNorm) (f32.add (local.get $s) (local.get $eps)))))`,
);

const chunked = (n: string, body: string) =>
  loop(
    "t",
    get("t0"),
    get("t1"),
    `${set("i", `(i32.mul ${get("t")} ${i32(TASK_ELEMS)})`)}
    ${set("end", min(`(i32.add ${get("i")} ${i32(TASK_ELEMS)})`, n))}
    (block $B_i (loop $L_i
      (br_if $B_i (i32.ge_s ${get("i")} ${get("end")}))
      ${body}
      ${set("i", `(i32.add ${get("i")} ${i32(4)})`)}
      (br $L_i)))`,
  );

const SCALE = kernel(
  "scale_by_stat",
  ["gp", "st", "o", "n"],
  ["t", "i", "end", "s:v128"],
  `${set("s", "(v128.load32_splat offset=4 (local.get $st))")}
  ${
    chunked(get("n"), `(v128.store ${at(get("o"), get("i"))} (f32x4.mul ${vld(get("gp"), get("i"))} (local.get $s)))`)
  }`,
);

// m ← b1·m + (1 − b1)·g ; v ← b2·v + (1 − b2)·g² ; w ← w·(1 − lr·wd) − lr · (m / bc1) / (√(v / bc2) + eps)
const ADAMW = kernel(
  "adamw",
  ["w", "gp", "mp", "vp", "n", "lr:f32", "b1:f32", "b2:f32", "eps:f32", "decay:f32", "bc1:f32", "bc2:f32"],
  ["t", "i", "end", "g:v128", "m:v128", "v:v128"],
  chunked(
    get("n"),
    `${set("g", vld(get("gp"), get("i")))}
    ${
      set(
        "m",
        `(f32x4.add (f32x4.mul (f32x4.splat (local.get $b1)) ${vld(get("mp"), get("i"))})
      (f32x4.mul (f32x4.splat (f32.sub (f32.const 1) (local.get $b1))) (local.get $g)))`,
      )
    }
    ${
      set(
        "v",
        `(f32x4.add (f32x4.mul (f32x4.splat (local.get $b2)) ${vld(get("vp"), get("i"))})
      (f32x4.mul (f32x4.splat (f32.sub (f32.const 1) (local.get $b2))) (f32x4.mul (local.get $g) (local.get $g))))`,
      )
    }
    (v128.store ${at(get("mp"), get("i"))} (local.get $m))
    (v128.store ${at(get("vp"), get("i"))} (local.get $v))
    (v128.store ${at(get("w"), get("i"))} (f32x4.sub (f32x4.mul ${
      vld(get("w"), get("i"))
    } (f32x4.splat (local.get $decay)))
      (f32x4.div (f32x4.mul (f32x4.splat (local.get $lr)) (f32x4.div (local.get $m) (f32x4.splat (local.get $bc1))))
        (f32x4.add (f32x4.sqrt (f32x4.div (local.get $v) (f32x4.splat (local.get $bc2)))) (f32x4.splat (local.get $eps))))))`,
  ),
);

export function gradNorm(grads: Tensor[], stats: Tensor, maxNorm: number, eps: number): void {
  const rt = WasmRuntime.current();
  const chunks = grads.map((g) => Math.ceil(g.size / TASK_ELEMS));
  const parts = Tensor.empty([Math.max(1, chunks.reduce((a, b) => a + b, 0))], "f32", "wasm");
  let off = 0;
  grads.forEach((g, k) => {
    rt.run("sumsq", [g.ptr, g.size, parts.ptr + 4 * off], chunks[k], g.size * 8);
    off += chunks[k];
  });
  rt.run("clip_total", [parts.ptr, off, stats.ptr, f32Word(maxNorm), f32Word(eps)], 1, off);
  parts.dispose();
}

export function scaleByStat(g: Tensor, stats: Tensor, out: Tensor): void {
  WasmRuntime.current().run(
    "scale_by_stat",
    [g.ptr, stats.ptr, out.ptr, g.size],
    Math.ceil(g.size / TASK_ELEMS),
    g.size * 8,
  );
}

export function adamw(w: Tensor, g: Tensor, m: Tensor, v: Tensor, p: AdamWPlan): void {
  const words = [
    w.ptr,
    g.ptr,
    m.ptr,
    v.ptr,
    w.size,
    ...[p.lr, p.beta1, p.beta2, p.eps, p.decay, p.bc1, p.bc2].map(f32Word),
  ];
  WasmRuntime.current().run("adamw", words, Math.ceil(w.size / TASK_ELEMS), w.size * 28);
}

export function miscWat(_f: WasmFeatures): string {
  return [ROPE, INDEX_SELECT, INDEX_SELECT_H, INDEX_SELECT_BWD, GATHER, GATHER_BWD, SUMSQ, CLIP_TOTAL, SCALE, ADAMW]
    .join("\n");
}
