/**
 * WASM GEMM C = op(A)·op(B) (+ bias) in the BLIS/Goto shape: for each KC-deep slice of K, B is packed into
 * NR = 8-column strips and, per MC-row block, A into MR = 6-row strips (zero-padded at the edges, transposes
 * absorbed by the packing); a 6 × 8 micro-kernel then keeps its C tile in 12 f32x4 accumulators across the KC
 * steps (12 accumulators + 2 B vectors + 1 broadcast A = 15 of the ~15 xmm registers V8 leaves usable), doing
 * 12 FMAs per 8 loaded floats. Measured on this machine (issue 14): 39-43 GFLOP/s on one thread, 72-83 on two;
 * the SIMD FMA peak is ~60 per core. Work is split over (batch, M chunk, N chunk) tasks, one packing per task.
 *
 * Blocking (GemmBlocking, a parameter of the builder as the WGSL builders take their tiling): KC = 256 (a B strip,
 * 8 KiB, stays in L1 across the A strips), MC = 120 (the packed A block, 120 KiB, in L2), NC = 2048 (the packed
 * B panel, 2 MiB, in per-thread scratch). MR × NR is fixed by the register file.
 */
import { SCRATCH_BYTES, WasmRuntime } from "../runtime.ts";
import type { WasmFeatures } from "../runtime.ts";
import { at, fma, get, i32, kernel, loop, min, set } from "../wat.ts";
import { load8Half, loadElem } from "./half.ts";
import type { MatmulPlan } from "../../kernels/types.ts";
import type { Tensor } from "../../tensor.ts";

export const MR = 6, NR = 8;

export interface GemmBlocking {
  /** K slice per packing (B strips of NR × kc floats stay in L1). */
  kc: number;
  /** Rows of A per packed block (a multiple of MR). */
  mc: number;
  /** Columns of B per packed panel (a multiple of NR). */
  nc: number;
}

export const GEMM_BLOCKING: GemmBlocking = { kc: 256, mc: 120, nc: 2048 };

/** Scratch layout (bytes from $scratch): packed A block, packed B panel, one edge tile; it must fit the scratch. */
function scratchLayout(b: GemmBlocking): { packA: number; packB: number; tile: number } {
  if (b.mc % MR || b.nc % NR) throw new RangeError(`GEMM blocking: mc % ${MR} and nc % ${NR} must be 0`);
  const packB = Math.ceil((b.mc * b.kc * 4) / 64) * 64, tile = packB + b.kc * b.nc * 4;
  if (tile + MR * NR * 4 > SCRATCH_BYTES) {
    throw new RangeError(`GEMM blocking needs more than ${SCRATCH_BYTES} bytes of scratch`);
  }
  return { packA: 0, packB, tile };
}

function microWat(f: WasmFeatures, TILE: number): string {
  const madd = fma(f);
  const acc = (r: number, h: number) => `$c${r}${h}`;
  const rows = [...Array(MR).keys()];
  const step = rows.map((r) =>
    `(local.set $a (v128.load32_splat offset=${4 * r} (local.get $pa)))
    (local.set ${acc(r, 0)} ${madd("(local.get $a)", "(local.get $b0)", `(local.get ${acc(r, 0)})`)})
    (local.set ${acc(r, 1)} ${madd("(local.get $a)", "(local.get $b1)", `(local.get ${acc(r, 1)})`)})`
  ).join("\n    ");
  const rowAddr = (r: number) => `(i32.add (local.get $c) (i32.mul (local.get $ldc) (i32.const ${r})))`;
  const storeFirst = rows.map((r) =>
    `(v128.store ${rowAddr(r)} (f32x4.add (local.get ${acc(r, 0)}) (local.get $bv0)))
      (v128.store offset=16 ${rowAddr(r)} (f32x4.add (local.get ${acc(r, 1)}) (local.get $bv1)))`
  ).join("\n      ");
  const storeAcc = rows.map((r) =>
    `(local.set $addr ${rowAddr(r)})
      (v128.store (local.get $addr) (f32x4.add (v128.load (local.get $addr)) (local.get ${acc(r, 0)})))
      (v128.store offset=16 (local.get $addr) (f32x4.add (v128.load offset=16 (local.get $addr)) (local.get ${
      acc(r, 1)
    })))`
  ).join("\n      ");
  const toTile = rows.map((r) =>
    `(v128.store offset=${TILE + 32 * r} (global.get $scratch) (local.get ${acc(r, 0)}))
      (v128.store offset=${TILE + 32 * r + 16} (global.get $scratch) (local.get ${acc(r, 1)}))`
  ).join("\n      ");
  return `
(func $micro (param $pa i32) (param $pb i32) (param $kc i32) (param $c i32) (param $ldc i32) (param $rows i32)
  (param $cols i32) (param $first i32) (param $bias i32)
  (local $k i32) (local $a v128) (local $b0 v128) (local $b1 v128) (local $bv0 v128) (local $bv1 v128)
  ${rows.map((r) => `(local ${acc(r, 0)} v128) (local ${acc(r, 1)} v128)`).join(" ")}
  (local $addr i32) (local $r i32) (local $j i32) (local $v f32)
  (local.set $k (local.get $kc))
  (block $B (loop $L
    (br_if $B (i32.eqz (local.get $k)))
    (local.set $b0 (v128.load (local.get $pb)))
    (local.set $b1 (v128.load offset=16 (local.get $pb)))
    ${step}
    (local.set $pa (i32.add (local.get $pa) (i32.const ${4 * MR})))
    (local.set $pb (i32.add (local.get $pb) (i32.const ${4 * NR})))
    (local.set $k (i32.sub (local.get $k) (i32.const 1)))
    (br $L)))
  (if (i32.and (i32.eq (local.get $rows) (i32.const ${MR})) (i32.eq (local.get $cols) (i32.const ${NR})))
    (then
      (if (local.get $first)
        (then
          (if (local.get $bias) (then
            (local.set $bv0 (v128.load (local.get $bias)))
            (local.set $bv1 (v128.load offset=16 (local.get $bias)))))
          ${storeFirst})
        (else
          ${storeAcc})))
    (else
      ;; edge tile: through the scratch tile, element by element
      ${toTile}
      ${
    loop(
      "r",
      i32(0),
      get("rows"),
      loop(
        "j",
        i32(0),
        get("cols"),
        `(local.set $v (f32.load offset=${TILE}
          (i32.add (global.get $scratch) (i32.shl (i32.add (i32.shl ${get("r")} (i32.const 3)) ${
          get("j")
        }) (i32.const 2)))))
        (local.set $addr (i32.add (i32.add (local.get $c) (i32.mul (local.get $r) (local.get $ldc))) (i32.shl ${
          get("j")
        } (i32.const 2))))
        (if (local.get $first)
          (then (if (local.get $bias)
            (then (local.set $v (f32.add (local.get $v) (f32.load ${at(get("bias"), get("j"))}))))))
          (else (local.set $v (f32.add (local.get $v) (f32.load (local.get $addr))))))
        (f32.store (local.get $addr) (local.get $v))`,
      ),
    )
  })))`;
}

/** A(i, k) of a (possibly transposed) operand: its f32 value (widened from f16 storage when `f16`). */
function elem(
  base: string,
  trans: string,
  i: string,
  k: string,
  rowsLen: string,
  colsLen: string,
  f16: boolean,
): string {
  // not transposed: (i, k) at i·colsLen + k; transposed (stored (k, i)): at k·rowsLen + i
  return loadElem(
    base,
    `(select (i32.add (i32.mul ${k} ${rowsLen}) ${i}) (i32.add (i32.mul ${i} ${colsLen}) ${k}) ${trans})`,
    f16,
  );
}

/** The packing functions for one storage type of the operand: $packA / $packB (f32), $packA16 / $packB16 (f16). */
function packWat(f16: boolean): string {
  const sfx = f16 ? "16" : "";
  // packA: rows [i0, i0 + mc) × k [pc, pc + kc) of op(A) (M × K) into MR-row strips: dst[(s·kc + k)·MR + r]
  const packA = `
(func $packA${sfx} (param $a i32) (param $M i32) (param $K i32) (param $trans i32) (param $i0 i32) (param $mc i32)
  (param $pc i32) (param $kc i32) (param $dst i32)
  (local $s i32) (local $r i32) (local $k i32) (local $row i32) (local $d i32) (local $strips i32)
  (local.set $strips (i32.div_u (i32.add (local.get $mc) (i32.const ${MR - 1})) (i32.const ${MR})))
  ${
    loop(
      "s",
      i32(0),
      get("strips"),
      loop(
        "r",
        i32(0),
        i32(MR),
        `(local.set $row (i32.add (i32.mul ${get("s")} (i32.const ${MR})) ${get("r")}))
        (local.set $d (i32.add ${get("dst")} (i32.shl (i32.add (i32.mul (i32.mul ${get("s")} ${
          get("kc")
        }) (i32.const ${MR})) ${get("r")}) (i32.const 2))))
        (if (i32.lt_s ${get("row")} ${get("mc")})
          (then ${
          loop(
            "k",
            i32(0),
            get("kc"),
            `(f32.store (i32.add ${get("d")} (i32.mul ${get("k")} (i32.const ${4 * MR})))
              ${
              elem(
                get("a"),
                get("trans"),
                `(i32.add ${get("i0")} ${get("row")})`,
                `(i32.add ${get("pc")} ${get("k")})`,
                get("M"),
                get("K"),
                f16,
              )
            })`,
          )
        })
          (else ${
          loop(
            "k",
            i32(0),
            get("kc"),
            `(f32.store (i32.add ${get("d")} (i32.mul ${get("k")} (i32.const ${4 * MR}))) (f32.const 0))`,
          )
        }))`,
      ),
    )
  })`;
  // A full strip of 8 contiguous columns of an untransposed B, per k: two f32 vectors (f16: one vector widened).
  const [lo, hi] = load8Half("(local.get $src)", "h");
  const fullStrip = f16
    ? `(v128.store (local.get $d) ${lo})
          (v128.store offset=16 (local.get $d) ${hi})`
    : `(v128.store (local.get $d) (v128.load (local.get $src)))
          (v128.store offset=16 (local.get $d) (v128.load offset=16 (local.get $src)))`;
  const width = f16 ? 1 : 2; // log2 bytes per element
  // packB: k [pc, pc + kc) × cols [j0, j0 + nc) of op(B) (K × N) into NR-column strips: dst[(s·kc + k)·NR + c]
  const packB = `
(func $packB${sfx} (param $b i32) (param $N i32) (param $K i32) (param $trans i32) (param $j0 i32) (param $nc i32)
  (param $pc i32) (param $kc i32) (param $dst i32)
  (local $s i32) (local $c i32) (local $k i32) (local $col i32) (local $d i32) (local $strips i32) (local $src i32)
  (local $h v128) (local $v v128) (local $dd i32)
  (local.set $strips (i32.div_u (i32.add (local.get $nc) (i32.const ${NR - 1})) (i32.const ${NR})))
  ${
    loop(
      "s",
      i32(0),
      get("strips"),
      `(local.set $d (i32.add ${get("dst")} (i32.shl (i32.mul (i32.mul ${get("s")} ${
        get("kc")
      }) (i32.const ${NR})) (i32.const 2))))
      (if (i32.and (i32.eqz ${get("trans")}) (i32.le_s (i32.mul (i32.add ${
        get("s")
      } (i32.const 1)) (i32.const ${NR})) ${get("nc")}))
        (then
          ;; a full strip of rows of B
          (local.set $src (i32.add ${get("b")} (i32.shl
            (i32.add (i32.mul ${get("pc")} ${get("N")}) (i32.add ${get("j0")} (i32.mul ${get("s")} (i32.const ${NR}))))
            (i32.const ${width}))))
          ${
        loop(
          "k",
          i32(0),
          get("kc"),
          `${fullStrip}
          (local.set $d (i32.add (local.get $d) (i32.const ${4 * NR})))
          (local.set $src (i32.add (local.get $src) (i32.shl ${get("N")} (i32.const ${width}))))`,
        )
      })
        (else (if (i32.and ${get("trans")} (i32.le_s (i32.mul (i32.add ${get("s")} (i32.const 1)) (i32.const ${NR})) ${
        get("nc")
      }))
        (then
          ;; a full strip of a transposed B: NR stored rows, each contiguous in k; 4 k per vector load, its lanes
          ;; stored NR floats apart
          ${
        loop(
          "c",
          i32(0),
          i32(NR),
          `(local.set $src (i32.add ${get("b")} (i32.shl (i32.add (i32.mul (i32.add ${get("j0")} (i32.add (i32.mul ${
            get("s")
          } (i32.const ${NR})) ${get("c")})) ${get("K")}) ${get("pc")}) (i32.const ${width}))))
          (local.set $dd (i32.add ${get("d")} (i32.shl ${get("c")} (i32.const 2))))
          (local.set $k (i32.const 0))
          (block $B4 (loop $L4
            (br_if $B4 (i32.gt_s (i32.add ${get("k")} (i32.const 4)) ${get("kc")}))
            (local.set $v ${
            f16
              ? "(call $h2f4 (i32x4.extend_low_i16x8_u (v128.load64_zero (local.get $src))))"
              : "(v128.load (local.get $src))"
          })
            (f32.store (local.get $dd) (f32x4.extract_lane 0 (local.get $v)))
            (f32.store offset=${4 * NR} (local.get $dd) (f32x4.extract_lane 1 (local.get $v)))
            (f32.store offset=${8 * NR} (local.get $dd) (f32x4.extract_lane 2 (local.get $v)))
            (f32.store offset=${12 * NR} (local.get $dd) (f32x4.extract_lane 3 (local.get $v)))
            (local.set $dd (i32.add (local.get $dd) (i32.const ${16 * NR})))
            (local.set $src (i32.add (local.get $src) (i32.const ${4 << width})))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $L4)))
          (block $B1 (loop $L1
            (br_if $B1 (i32.ge_s ${get("k")} ${get("kc")}))
            (f32.store (local.get $dd) ${loadElem(get("src"), i32(0), f16)})
            (local.set $dd (i32.add (local.get $dd) (i32.const ${4 * NR})))
            (local.set $src (i32.add (local.get $src) (i32.const ${1 << width})))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $L1)))`,
        )
      })
        (else ${
        loop(
          "c",
          i32(0),
          i32(NR),
          // edge strips: columns past nc read column nc − 1 (in bounds) and store 0
          `(local.set $col (i32.add (i32.mul ${get("s")} (i32.const ${NR})) ${get("c")}))
          ${
            loop(
              "k",
              i32(0),
              get("kc"),
              `(f32.store (i32.add ${get("d")} (i32.shl (i32.add (i32.mul ${get("k")} (i32.const ${NR})) ${
                get("c")
              }) (i32.const 2)))
                (select
                  ${
                elem(
                  get("b"),
                  get("trans"),
                  `(i32.add ${get("pc")} ${get("k")})`,
                  `(i32.add ${get("j0")} ${min(get("col"), `(i32.sub ${get("nc")} (i32.const 1))`)})`,
                  get("K"),
                  get("N"),
                  f16,
                )
              }
                  (f32.const 0)
                  (i32.lt_s ${get("col")} ${get("nc")})))`,
            )
          }`,
        )
      }))))`,
    )
  })`;
  return packA + packB;
}

/** A call of the f32 or the f16 packing of an operand, chosen by the kernel parameter `half` (1: f16 storage). */
function packCall(fn: string, half: string, args: string[], offset: number): string {
  const call = (name: string) =>
    `(call $${name} ${args.map(get).join(" ")} (i32.add (global.get $scratch) (i32.const ${offset})))`;
  return `(if ${get(half)} (then ${call(fn + "16")}) (else ${call(fn)}))`;
}

export function matmulWat(f: WasmFeatures, blocking: GemmBlocking = GEMM_BLOCKING): string {
  const { kc: KC, mc: MC, nc: NC } = blocking;
  const { packA: PACK_A, packB: PACK_B, tile: TILE } = scratchLayout(blocking);
  // Tasks t → (batch bt, M chunk mi, N chunk ni); each packs its own slices.
  const body = loop(
    "t",
    get("t0"),
    get("t1"),
    `${set("per", `(i32.mul ${get("tilesM")} ${get("tilesN")})`)}
    ${set("bt", `(i32.div_u ${get("t")} ${get("per")})`)}
    ${set("mi", `(i32.div_u (i32.rem_u ${get("t")} ${get("per")}) ${get("tilesN")})`)}
    ${set("ni", `(i32.rem_u (i32.rem_u ${get("t")} ${get("per")}) ${get("tilesN")})`)}
    ${set("m0", `(i32.mul ${get("mi")} ${get("mChunk")})`)}
    ${set("m1", min(`(i32.add ${get("m0")} ${get("mChunk")})`, get("M")))}
    ${set("n0", `(i32.mul ${get("ni")} ${get("nChunk")})`)}
    ${set("n1", min(`(i32.add ${get("n0")} ${get("nChunk")})`, get("N")))}
    ${
      set(
        "ab",
        `(i32.add ${get("A")} (i32.shl (i32.mul ${get("bt")} ${get("strideA")}) (i32.sub (i32.const 2) ${get("aH")})))`,
      )
    }
    ${
      set(
        "bb",
        `(i32.add ${get("B")} (i32.shl (i32.mul ${get("bt")} ${get("strideB")}) (i32.sub (i32.const 2) ${get("bH")})))`,
      )
    }
    ${set("cb", at(get("C"), `(i32.mul ${get("bt")} (i32.mul ${get("M")} ${get("N")}))`))}
    ${
      loop(
        "jc",
        get("n0"),
        get("n1"),
        `${set("nc", min(i32(NC), `(i32.sub ${get("n1")} ${get("jc")})`))}
        ${
          loop(
            "pc",
            i32(0),
            get("K"),
            `${set("kc", min(i32(KC), `(i32.sub ${get("K")} ${get("pc")})`))}
            ${packCall("packB", "bH", ["bb", "N", "K", "transB", "jc", "nc", "pc", "kc"], PACK_B)}
            ${
              loop(
                "ic",
                get("m0"),
                get("m1"),
                `${set("mc", min(i32(MC), `(i32.sub ${get("m1")} ${get("ic")})`))}
                ${packCall("packA", "aH", ["ab", "M", "K", "transA", "ic", "mc", "pc", "kc"], PACK_A)}
                ${
                  loop(
                    "jr",
                    i32(0),
                    get("nc"),
                    loop(
                      "ir",
                      i32(0),
                      get("mc"),
                      `(call $micro
                        (i32.add (global.get $scratch) (i32.add (i32.const ${PACK_A}) (i32.shl (i32.mul ${get("ir")} ${
                        get("kc")
                      }) (i32.const 2))))
                        (i32.add (global.get $scratch) (i32.add (i32.const ${PACK_B}) (i32.shl (i32.mul ${get("jr")} ${
                        get("kc")
                      }) (i32.const 2))))
                        ${get("kc")}
                        ${
                        at(
                          get("cb"),
                          `(i32.add (i32.mul (i32.add ${get("ic")} ${get("ir")}) ${get("N")}) (i32.add ${get("jc")} ${
                            get("jr")
                          }))`,
                        )
                      }
                        (i32.shl ${get("N")} (i32.const 2))
                        ${min(i32(MR), `(i32.sub ${get("mc")} ${get("ir")})`)}
                        ${min(i32(NR), `(i32.sub ${get("nc")} ${get("jr")})`)}
                        (i32.eqz ${get("pc")})
                        (select ${at(get("bias"), `(i32.add ${get("jc")} ${get("jr")})`)} (i32.const 0) ${
                        get("bias")
                      }))`,
                      MR,
                    ),
                    NR,
                  )
                }`,
                MC,
              )
            }`,
            KC,
          )
        }`,
        NC,
      )
    }`,
  );
  return microWat(f, TILE) + packWat(false) + packWat(true) + kernel(
    "matmul",
    [
      "A",
      "B",
      "C",
      "bias",
      "M",
      "N",
      "K",
      "strideA",
      "strideB",
      "transA",
      "transB",
      "mChunk",
      "nChunk",
      "tilesM",
      "tilesN",
      "aH",
      "bH",
    ],
    [
      "t",
      "per",
      "bt",
      "mi",
      "ni",
      "m0",
      "m1",
      "n0",
      "n1",
      "ab",
      "bb",
      "cb",
      "jc",
      "nc",
      "pc",
      "kc",
      "ic",
      "mc",
      "jr",
      "ir",
    ],
    body,
  );
}

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/**
 * Task split of one GEMM into (M chunk × N chunk) tiles, about two per thread (a thread that the host deschedules
 * stalls less of the call). Each task packs its own A rows and B columns, so the split minimises the packing,
 * tilesN·M·K + tilesM·K·N, over splits with chunks of at least 48 rows and 64 columns.
 */
export function matmulTasks(
  batch: number,
  m: number,
  n: number,
  threads: number,
): { mChunk: number; nChunk: number; tilesM: number; tilesN: number } {
  const want = Math.ceil((2 * threads) / batch);
  let best = { tm: 1, tn: 1, cost: Infinity };
  if (threads > 1 && want > 1) {
    for (let tm = 1; tm <= Math.max(1, Math.floor(m / 48)); tm++) {
      const tn = Math.min(Math.max(1, Math.floor(n / 64)), Math.ceil(want / tm));
      if (tm * tn < Math.min(want, Math.max(1, Math.floor(m / 48)) * Math.max(1, Math.floor(n / 64)))) continue;
      // packing per split, plus a small price per extra task (its start-up and the last-task tail)
      const cost = tn * m + tm * n + 64 * tm * tn;
      if (cost < best.cost) best = { tm, tn, cost };
    }
  }
  const mChunk = roundUp(Math.ceil(m / best.tm), MR), nChunk = roundUp(Math.ceil(n / best.tn), NR);
  return { mChunk, nChunk, tilesM: Math.ceil(m / mChunk), tilesN: Math.ceil(n / nChunk) };
}

export function matmul(a: Tensor, b: Tensor, bias: Tensor | null, out: Tensor, d: MatmulPlan): void {
  let { batch, m, strideA } = d;
  if (d.strideB === 0 && !d.transA && batch > 1) {
    // A shared B (a linear layer's weight): the batch is just more rows of A and C.
    m *= batch;
    batch = 1;
    strideA = 0;
  }
  const rt = WasmRuntime.current();
  const work = 2 * batch * m * d.n * d.k;
  const split = work >= rt.threadThreshold
    ? matmulTasks(batch, m, d.n, rt.threads)
    : { mChunk: m, nChunk: d.n, tilesM: 1, tilesN: 1 };
  rt.run(
    "matmul",
    [
      a.ptr,
      b.ptr,
      out.ptr,
      bias ? bias.ptr : 0,
      m,
      d.n,
      d.k,
      strideA,
      d.strideB,
      +d.transA,
      +d.transB,
      split.mChunk,
      split.nChunk,
      split.tilesM,
      split.tilesN,
      +(a.dtype === "f16"),
      +(b.dtype === "f16"),
    ],
    batch * split.tilesM * split.tilesN,
    work,
  );
}
