/**
 * WASM elementwise kernels (SIMD128, 4 lanes): fill, binary (same shape and broadcast), unary (one kernel per
 * table entry), where, casts. Whole-tensor loops run to the end of the last vector: WASM allocations are padded
 * to 16 bytes (core/wasm/heap.ts), and the padding is never read back. Broadcast kernels walk rows of the merged
 * innermost axis, where every operand's stride is 0 (a splat) or 1 (a vector load); a number operand is a
 * stride-0 operand living in the parameter block.
 */
import { f32Word, PARAMS, WasmRuntime } from "../runtime.ts";
import type { WasmFeatures } from "../runtime.ts";
import { at, get, i32, kernel, loop, min, set, splat } from "../wat.ts";
import { MAX_RANK } from "../../kernels/shapes.ts";
import type { BinaryOpName, BroadcastPlan, UnaryName } from "../../kernels/types.ts";
import { UNARY_NAMES } from "../../kernels/types.ts";
import type { Tensor } from "../../tensor.ts";

/** Elements per task of a whole-tensor loop (a multiple of 4). */
const CHUNK = 16384;

const BINARY: Record<BinaryOpName, (a: string, b: string) => string> = {
  add: (a, b) => `(f32x4.add ${a} ${b})`,
  sub: (a, b) => `(f32x4.sub ${a} ${b})`,
  mul: (a, b) => `(f32x4.mul ${a} ${b})`,
  div: (a, b) => `(f32x4.div ${a} ${b})`,
  // pmax/pmin: a < b ? b : a (the NaN-propagating f32x4.max lowers to a long sequence in V8)
  maximum: (a, b) => `(f32x4.pmax ${a} ${b})`,
  minimum: (a, b) => `(f32x4.pmin ${a} ${b})`,
  eq: (a, b) => `(v128.and (f32x4.eq ${a} ${b}) ${splat(1)})`,
  gt: (a, b) => `(v128.and (f32x4.gt ${a} ${b}) ${splat(1)})`,
  lt: (a, b) => `(v128.and (f32x4.lt ${a} ${b}) ${splat(1)})`,
};

const X = "(local.get $x)";
const S = "(local.get $s)";
const ONE = splat(1);
const mulv = (...xs: string[]) => xs.reduce((a, b) => `(f32x4.mul ${a} ${b})`);
const addv = (a: string, b: string) => `(f32x4.add ${a} ${b})`;
const subv = (a: string, b: string) => `(f32x4.sub ${a} ${b})`;
const divv = (a: string, b: string) => `(f32x4.div ${a} ${b})`;
const GELU_C = 0.7978845608028654;
/** tanh(√(2/π)(x + 0.044715x³)) */
const geluT = `(call $tanh4 ${mulv(splat(GELU_C), addv(X, mulv(splat(0.044715), X, X, X)))})`;

/**
 * y in terms of $x (the vector), $s (the scalar, splat), and for pow: $e (exponent), $c (coefficient), $nm
 * (what a negative base's power is multiplied by: ±1 for an integer exponent, NaN otherwise). $tmp is a temporary.
 */
const UNARY: Record<UnaryName, string> = {
  exp: `(call $exp4 ${X})`,
  log: `(call $log4 ${X})`,
  recip: divv(ONE, X),
  drecip: divv(splat(-1), mulv(X, X)),
  sqrt: `(f32x4.sqrt ${X})`,
  dsqrt: divv(splat(0.5), `(f32x4.sqrt ${X})`),
  rsqrt: divv(ONE, `(f32x4.sqrt ${X})`),
  drsqrt: divv(splat(-0.5), mulv(`(f32x4.sqrt ${X})`, X)),
  abs: `(f32x4.abs ${X})`,
  sign: subv(`(v128.and (f32x4.gt ${X} ${splat(0)}) ${ONE})`, `(v128.and (f32x4.lt ${X} ${splat(0)}) ${ONE})`),
  neg: `(f32x4.neg ${X})`,
  negOne: splat(-1),
  tanh: `(call $tanh4 ${X})`,
  dtanh: `(local.set $tmp (call $tanh4 ${X})) ${subv(ONE, mulv("(local.get $tmp)", "(local.get $tmp)"))}`,
  sigmoid: `(call $sigmoid4 ${X})`,
  dsigmoid: `(local.set $tmp (call $sigmoid4 ${X})) ${mulv("(local.get $tmp)", subv(ONE, "(local.get $tmp)"))}`,
  silu: mulv(X, `(call $sigmoid4 ${X})`),
  dsilu: `(local.set $tmp (call $sigmoid4 ${X})) ${
    mulv("(local.get $tmp)", addv(ONE, mulv(X, subv(ONE, "(local.get $tmp)"))))
  }`,
  relu: `(f32x4.pmax ${splat(0)} ${X})`,
  step: `(v128.and (f32x4.gt ${X} ${splat(0)}) ${ONE})`,
  // fwd: y = x/2 · (1 + erf(x/√2))
  geluErf: mulv(splat(0.5), X, addv(ONE, `(call $erf4 ${mulv(X, splat(Math.SQRT1_2))})`)),
  // dy/dx = Φ(x) + x·φ(x)
  dgeluErf: addv(
    mulv(splat(0.5), addv(ONE, `(call $erf4 ${mulv(X, splat(Math.SQRT1_2))})`)),
    mulv(X, `(call $exp4 ${mulv(splat(-0.5), X, X)})`, splat(0.3989422804014327)),
  ),
  geluTanh: mulv(splat(0.5), X, addv(ONE, geluT)),
  dgeluTanh: `(local.set $tmp ${geluT}) ${
    addv(
      mulv(splat(0.5), addv(ONE, "(local.get $tmp)")),
      mulv(
        splat(0.5),
        X,
        subv(ONE, mulv("(local.get $tmp)", "(local.get $tmp)")),
        splat(GELU_C),
        addv(ONE, mulv(splat(3 * 0.044715), X, X)),
      ),
    )
  }`,
  addScalar: addv(X, S),
  one: ONE,
  mulScalar: mulv(X, S),
  constS: S,
  pow: "",
  dpow: "",
};

/** c · |x|^e, times nm where x < 0 (pow and its derivative, with e, c, nm set by the caller). */
const POW = `(local.set $tmp ${
  mulv("(local.get $c)", `(call $exp4 ${mulv("(local.get $e)", `(call $log4 (f32x4.abs ${X}))`)})`)
})
  (v128.bitselect ${mulv("(local.get $tmp)", "(local.get $nm)")} (local.get $tmp) (f32x4.lt ${X} ${splat(0)}))`;

/** The loop over task t's chunk [t·CHUNK, min(n, (t+1)·CHUNK)), 4 elements per step, with the index in $i. */
function chunks(body: string): string {
  return loop(
    "t",
    get("t0"),
    get("t1"),
    `${set("i", `(i32.mul ${get("t")} ${i32(CHUNK)})`)}
    ${set("end", min(`(i32.add ${get("i")} ${i32(CHUNK)})`, get("n")))}
    (block $B_i (loop $L_i
      (br_if $B_i (i32.ge_s ${get("i")} ${get("end")}))
      ${body}
      ${set("i", `(i32.add ${get("i")} ${i32(4)})`)}
      (br $L_i)))`,
  );
}

function unaryWat(name: UnaryName): string {
  const expr = name === "pow" || name === "dpow" ? POW : UNARY[name];
  return kernel(
    `u_${name}`,
    ["xp", "o", "n", "sf:f32", "ef:f32", "cf:f32", "nmf:f32"],
    ["t", "i", "end", "x:v128", "s:v128", "e:v128", "c:v128", "nm:v128", "tmp:v128"],
    `${set("s", "(f32x4.splat (local.get $sf))")} ${set("e", "(f32x4.splat (local.get $ef))")}
    ${set("c", "(f32x4.splat (local.get $cf))")} ${set("nm", "(f32x4.splat (local.get $nmf))")}
    ${
      chunks(`${set("x", `(v128.load ${at(get("xp"), get("i"))})`)}
      (v128.store ${at(get("o"), get("i"))} ${expr})`)
    }`,
  );
}

function binarySameWat(op: BinaryOpName): string {
  return kernel(
    `b_${op}`,
    ["a", "b", "o", "n"],
    ["t", "i", "end"],
    chunks(`(v128.store ${at(get("o"), get("i"))}
      ${BINARY[op](`(v128.load ${at(get("a"), get("i"))})`, `(v128.load ${at(get("b"), get("i"))})`)})`),
  );
}

/**
 * Broadcast walk shared by binary and where: operands k = 0..K-1 with pointer words at PTR+k, stride tables at
 * STR + k·MAX_RANK (element strides over the merged axes), the shape at SHAPE, the rank, rows per task.
 * For each row: its offset per operand, then the innermost axis with a vector load (stride 1) or a splat
 * (stride 0) per operand, selected with a per-row lane mask; a scalar tail finishes the row.
 */
const BC = { ptr: 0, out: 3, rank: 4, rowsPerTask: 5, shape: 8, str: 8 + MAX_RANK } as const;

function broadcastWat(name: string, operands: number, vec: (xs: string[]) => string, scalar: (xs: string[]) => string) {
  const ks = [...Array(operands).keys()];
  const word = (w: number) => `(i32.load offset=${4 * w} (local.get $p))`;
  const stride = (k: number, d: string) =>
    `(i32.load offset=${4 * (BC.str + k * MAX_RANK)} (i32.add (local.get $p) (i32.shl ${d} (i32.const 2))))`;
  const dim = (d: string) => `(i32.load offset=${4 * BC.shape} (i32.add (local.get $p) (i32.shl ${d} (i32.const 2))))`;
  // A stride-0 operand's vector load reads its one element's address too (in bounds), then loses the select.
  const vload = (k: number) =>
    `(v128.bitselect (v128.load ${at(get(`q${k}`), `(i32.mul ${get("j")} ${get(`s${k}`)})`)})
      (v128.load32_splat ${get(`q${k}`)}) ${get(`m${k}`)})`;
  const sload = (k: number) =>
    `(f32.load (i32.add ${get(`q${k}`)} (i32.mul ${get(`s${k}`)} (i32.shl ${get("j")} (i32.const 2)))))`;
  return kernel(
    name,
    [],
    [
      "o",
      "rank",
      "len",
      "rows",
      "r",
      "rEnd",
      "rem",
      "d",
      "c",
      "j",
      "jv",
      "oq",
      ...ks.flatMap((k) => [`q${k}`, `s${k}`, `m${k}:v128`]),
    ],
    `${set("o", word(BC.out))}
    ${set("rank", word(BC.rank))}
    ${set("len", dim(`(i32.sub ${get("rank")} ${i32(1)})`))}
    ${ks.map((k) => set(`s${k}`, stride(k, `(i32.sub ${get("rank")} ${i32(1)})`))).join("\n    ")}
    ${ks.map((k) => set(`m${k}`, `(i32x4.splat (i32.sub ${i32(0)} ${get(`s${k}`)}))`)).join("\n    ")}
    ${set("jv", `(i32.and ${get("len")} ${i32(-4)})`)}
    ${set("r", `(i32.mul ${get("t0")} ${word(BC.rowsPerTask)})`)}
    ${set("rEnd", `(i32.mul ${get("t1")} ${word(BC.rowsPerTask)})`)}
    ${set("rows", word(BC.rowsPerTask + 1))}
    ${set("rEnd", min(get("rEnd"), get("rows")))}
    (block $B_r (loop $L_r
      (br_if $B_r (i32.ge_s ${get("r")} ${get("rEnd")}))
      ;; offsets of row r: decompose r over the outer axes (rank − 2 … 0)
      ${ks.map((k) => set(`q${k}`, word(BC.ptr + k))).join(" ")}
      ${set("rem", get("r"))}
      ${set("d", `(i32.sub ${get("rank")} ${i32(2)})`)}
      (block $B_d (loop $L_d
        (br_if $B_d (i32.lt_s ${get("d")} ${i32(0)}))
        ${set("c", `(i32.rem_u ${get("rem")} ${dim(get("d"))})`)}
        ${set("rem", `(i32.div_u ${get("rem")} ${dim(get("d"))})`)}
        ${ks.map((k) => set(`q${k}`, at(get(`q${k}`), `(i32.mul ${get("c")} ${stride(k, get("d"))})`))).join(" ")}
        ${set("d", `(i32.sub ${get("d")} ${i32(1)})`)}
        (br $L_d)))
      ${set("oq", at(get("o"), `(i32.mul ${get("r")} ${get("len")})`))}
      ${
      loop(
        "j",
        i32(0),
        get("jv"),
        `(v128.store ${at(get("oq"), get("j"))} ${vec(ks.map(vload))})`,
        4,
      )
    }
      (block $B_j2 (loop $L_j2
        (br_if $B_j2 (i32.ge_s ${get("j")} ${get("len")}))
        (f32.store ${at(get("oq"), get("j"))} ${scalar(ks.map(sload))})
        ${set("j", `(i32.add ${get("j")} ${i32(1)})`)}
        (br $L_j2)))
      ${set("r", `(i32.add ${get("r")} ${i32(1)})`)}
      (br $L_r)))`,
  );
}

const SCALAR_BINARY: Record<BinaryOpName, (a: string, b: string) => string> = {
  add: (a, b) => `(f32.add ${a} ${b})`,
  sub: (a, b) => `(f32.sub ${a} ${b})`,
  mul: (a, b) => `(f32.mul ${a} ${b})`,
  div: (a, b) => `(f32.div ${a} ${b})`,
  maximum: (a, b) => `(f32x4.extract_lane 0 (f32x4.pmax (f32x4.splat ${a}) (f32x4.splat ${b})))`,
  minimum: (a, b) => `(f32x4.extract_lane 0 (f32x4.pmin (f32x4.splat ${a}) (f32x4.splat ${b})))`,
  eq: (a, b) => `(f32.convert_i32_u (f32.eq ${a} ${b}))`,
  gt: (a, b) => `(f32.convert_i32_u (f32.gt ${a} ${b}))`,
  lt: (a, b) => `(f32.convert_i32_u (f32.lt ${a} ${b}))`,
};

const FILL = kernel(
  "fill",
  ["o", "n", "vf:f32"],
  ["t", "i", "end", "v:v128"],
  `${set("v", "(f32x4.splat (local.get $vf))")}
  ${chunks(`(v128.store ${at(get("o"), get("i"))} (local.get $v))`)}`,
);

const CASTS = `
${
  kernel(
    "cast_f32_i32",
    ["xp", "o", "n"],
    ["t", "i", "end"],
    chunks(`(v128.store ${at(get("o"), get("i"))} (i32x4.trunc_sat_f32x4_s (v128.load ${at(get("xp"), get("i"))})))`),
  )
}
${
  kernel(
    "cast_i32_f32",
    ["xp", "o", "n"],
    ["t", "i", "end"],
    chunks(`(v128.store ${at(get("o"), get("i"))} (f32x4.convert_i32x4_s (v128.load ${at(get("xp"), get("i"))})))`),
  )
}
${
  // f32 → f16 bits, round to nearest, ties to even (as torch and core/io/half.ts f32ToF16): one element per step.
  // Normal: drop 13 mantissa bits of v = (e << 23 | mant) by (v + 0xfff + lsb) >> 13 (a carry may bump the exponent,
  // up to Inf, which is right); subnormal: shift the 24-bit significand right by 14 − e the same way.
  kernel(
    "cast_f32_f16",
    ["xp", "o", "n"],
    ["i", "x", "sign", "e", "mant", "h", "sh", "sig"],
    `${set("i", `(i32.mul ${get("t0")} ${i32(CHUNK)})`)}
    (block $B (loop $L
      (br_if $B (i32.ge_s ${get("i")} ${min(`(i32.mul ${get("t1")} ${i32(CHUNK)})`, get("n"))}))
      ${set("x", `(i32.load ${at(get("xp"), get("i"))})`)}
      ${set("sign", `(i32.and (i32.shr_u ${get("x")} ${i32(16)}) ${i32(0x8000)})`)}
      ${set("e", `(i32.sub (i32.and (i32.shr_u ${get("x")} ${i32(23)}) ${i32(0xff)}) ${i32(112)})`)}
      ${set("mant", `(i32.and ${get("x")} ${i32(0x7fffff)})`)}
      (if (i32.le_s ${get("e")} ${i32(0)})
        (then
          ${set("sh", `(i32.sub ${i32(14)} ${get("e")})`)}
          ${set("sig", `(i32.or ${get("mant")} ${i32(0x800000)})`)}
          ${
      set(
        "h",
        `(select ${i32(0)}
          (i32.shr_u (i32.add (i32.add ${get("sig")} (i32.sub (i32.shl ${i32(1)} (i32.sub ${get("sh")} ${i32(1)})) ${
          i32(1)
        }))
            (i32.and (i32.shr_u ${get("sig")} ${get("sh")}) ${i32(1)})) ${get("sh")})
          (i32.lt_s ${get("e")} ${i32(-10)}))`,
      )
    })
        (else (if (i32.ge_s ${get("e")} ${i32(31)})
          (then ${
      set(
        "h",
        `(i32.or ${i32(0x7c00)} (select ${i32(0x200)} ${i32(0)}
          (i32.and (i32.eq (i32.and (i32.shr_u ${get("x")} ${i32(23)}) ${i32(0xff)}) ${i32(0xff)}) (i32.ne ${
          get("mant")
        } ${i32(0)}))))`,
      )
    })
          (else
            ${set("x", `(i32.or (i32.shl ${get("e")} ${i32(23)}) ${get("mant")})`)}
            ${
      set(
        "h",
        `(i32.shr_u (i32.add (i32.add ${get("x")} ${i32(0xfff)}) (i32.and (i32.shr_u ${get("x")} ${i32(13)}) ${
          i32(1)
        })) ${i32(13)})`,
      )
    }))))
      (i32.store16 (i32.add ${get("o")} (i32.shl ${get("i")} ${i32(1)})) (i32.or ${get("sign")} ${get("h")}))
      ${set("i", `(i32.add ${get("i")} ${i32(1)})`)}
      (br $L)))`,
  )}
${
  // f16 bits → f32 (normal, subnormal, inf/NaN): one element per step.
  kernel(
    "cast_f16_f32",
    ["xp", "o", "n"],
    ["i", "h", "e", "m", "bits"],
    `${set("i", `(i32.mul ${get("t0")} ${i32(CHUNK)})`)}
    (block $B (loop $L
      (br_if $B (i32.ge_s ${get("i")} ${min(`(i32.mul ${get("t1")} ${i32(CHUNK)})`, get("n"))}))
      ${set("h", `(i32.load16_u (i32.add ${get("xp")} (i32.shl ${get("i")} ${i32(1)})))`)}
      ${set("e", `(i32.and (i32.shr_u ${get("h")} ${i32(10)}) ${i32(0x1f)})`)}
      ${set("m", `(i32.and ${get("h")} ${i32(0x3ff)})`)}
      (if (i32.eqz ${get("e")})
        (then (f32.store ${at(get("o"), get("i"))} (f32.mul
          (f32.convert_i32_s (select (i32.sub ${i32(0)} ${get("m")}) ${get("m")} (i32.and ${get("h")} ${i32(0x8000)})))
          (f32.const 5.960464477539063e-8))))
        (else
          ${
      set(
        "bits",
        `(select (i32.or ${i32(0x7f800000)} (i32.shl ${get("m")} ${i32(13)}))
           (i32.shl (i32.add ${get("e")} ${i32(112)}) ${i32(23)})
           (i32.eq ${get("e")} ${i32(31)}))`,
      )
    }
          ${set("bits", `(i32.or ${get("bits")} (i32.shl ${get("m")} ${i32(13)}))`)}
          (i32.store ${at(get("o"), get("i"))} (i32.or ${get("bits")} (i32.shl (i32.and ${get("h")} ${i32(0x8000)}) ${
      i32(16)
    })))))
      ${set("i", `(i32.add ${get("i")} ${i32(1)})`)}
      (br $L)))`,
  )}`;

export function elementwiseWat(_f: WasmFeatures): string {
  const ops = Object.keys(BINARY) as BinaryOpName[];
  return [
    FILL,
    ...UNARY_NAMES.map(unaryWat),
    ...ops.map(binarySameWat),
    ...ops.map((op) => broadcastWat(`bc_${op}`, 2, ([a, b]) => BINARY[op](a, b), ([a, b]) => SCALAR_BINARY[op](a, b))),
    broadcastWat(
      "bc_where",
      3,
      ([c, a, b]) => `(v128.bitselect ${b} ${a} (f32x4.eq ${c} ${splat(0)}))`,
      ([c, a, b]) => `(select ${b} ${a} (f32.eq ${c} (f32.const 0)))`,
    ),
    CASTS,
  ].join("\n");
}

// ── launches ─────────────────────────────────────────────────────────────────────────────────────────────────────

const tasks = (n: number) => Math.ceil(n / CHUNK);

export function fill(out: Tensor, value: number): void {
  WasmRuntime.current().run("fill", [out.ptr, out.size, f32Word(value)], tasks(out.size), out.size * 4);
}

export function copy(src: Tensor, srcOffset: number, dst: Tensor, dstOffset: number, bytes: number): void {
  const u8 = WasmRuntime.current().u8;
  u8.copyWithin(dst.ptr + dstOffset, src.ptr + srcOffset, src.ptr + srcOffset + bytes);
}

/** Work units per element (≈ flops): what decides whether a call wakes the other threads. */
const UNARY_COST: Partial<Record<UnaryName, number>> = {
  exp: 20,
  log: 25,
  tanh: 30,
  dtanh: 30,
  sigmoid: 25,
  dsigmoid: 25,
  silu: 25,
  dsilu: 25,
  geluErf: 40,
  dgeluErf: 60,
  geluTanh: 40,
  dgeluTanh: 50,
  pow: 50,
  dpow: 50,
};

export function unary(name: UnaryName, x: Tensor, out: Tensor, s: number): void {
  let e = 0, c = 1, nm = NaN;
  if (name === "pow" || name === "dpow") {
    // c · |x|^e; a negative base has a real power only for integer e (odd: −, even: +)
    e = name === "pow" ? s : s - 1;
    c = name === "pow" ? 1 : s;
    nm = Number.isInteger(e) ? (Math.abs(e) % 2 === 1 ? -1 : 1) : NaN;
  }
  const words = [x.ptr, out.ptr, x.size, f32Word(s), f32Word(e), f32Word(c), f32Word(nm)];
  WasmRuntime.current().run(`u_${name}`, words, tasks(x.size), x.size * Math.max(8, UNARY_COST[name] ?? 0));
}

/** Parameter words of a broadcast walk over operands `ptrs` (strides per operand in `plan`). */
function broadcastWords(ptrs: number[], out: Tensor, plan: BroadcastPlan): { words: number[]; tasks: number } {
  const rank = plan.shape.length;
  const shape = rank === 0 ? [1] : plan.shape;
  const strides = rank === 0 ? plan.strides.map(() => [0]) : plan.strides;
  const len = shape[shape.length - 1];
  const rows = out.size / len;
  const rowsPerTask = Math.max(1, Math.floor(CHUNK / len));
  const words = new Array<number>(BC.str + 3 * MAX_RANK).fill(0);
  ptrs.forEach((q, k) => (words[BC.ptr + k] = q));
  words[BC.out] = out.ptr;
  words[BC.rank] = shape.length;
  words[BC.rowsPerTask] = rowsPerTask;
  words[BC.rowsPerTask + 1] = rows;
  shape.forEach((d, i) => (words[BC.shape + i] = d));
  strides.forEach((s, k) => s.forEach((v, i) => (words[BC.str + k * MAX_RANK + i] = v)));
  return { words, tasks: Math.ceil(rows / rowsPerTask) };
}

export function binary(op: BinaryOpName, a: Tensor, b: Tensor, out: Tensor, plan: BroadcastPlan | null): void {
  const rt = WasmRuntime.current();
  if (!plan) {
    rt.run(`b_${op}`, [a.ptr, b.ptr, out.ptr, out.size], tasks(out.size), out.size * 12);
    return;
  }
  const { words, tasks: n } = broadcastWords([a.ptr, b.ptr], out, plan);
  rt.run(`bc_${op}`, words, n, out.size * 12);
}

/** Where a number operand lives: a word of the parameter block past the broadcast tables. */
const SCALAR_SLOT = BC.str + 3 * MAX_RANK;

export function where(cond: Tensor, a: Tensor | number, b: Tensor | number, out: Tensor, plan: BroadcastPlan): void {
  const slot = (k: number) => PARAMS + 4 * (SCALAR_SLOT + 4 * k);
  const ptrA = typeof a === "number" ? slot(0) : a.ptr;
  const ptrB = typeof b === "number" ? slot(1) : b.ptr;
  const { words, tasks: n } = broadcastWords([cond.ptr, ptrA, ptrB], out, plan);
  // Each scalar fills a 16-byte slot, so the stride-0 operand's vector load stays in the block.
  for (const [k, v] of [[0, a], [1, b]] as const) {
    if (typeof v === "number") { for (let l = 0; l < 4; l++) words[SCALAR_SLOT + 4 * k + l] = f32Word(v); }
  }
  WasmRuntime.current().run("bc_where", words, n, out.size * 16);
}

export function cast(x: Tensor, out: Tensor): void {
  const name = `cast_${x.dtype}_${out.dtype}`;
  WasmRuntime.current().run(name, [x.ptr, out.ptr, x.size], tasks(x.size), x.size * 8);
}
