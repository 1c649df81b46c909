/**
 * WASM attention, FlashAttention-style (see core/ops/attention.ts for shapes and visibility rules).
 *
 * Forward, one task per (batch, query head, block of QB queries): keys go by blocks of BC = 16; each block of K is
 * transposed into scratch (D × BC), so a query's 16 scores are 4 f32x4 accumulators over D broadcast-FMAs (no
 * horizontal sums); an online softmax keeps m, l per query and rescales the output row, which accumulates
 * Σ p_j v_j in place. Invisible keys (causal, segment, mask, past Tk) get the score −MAXF and p = 0 exactly.
 * Backward (FlashAttention-2), one task per (batch, KV head), so dk/dv sum over the group's query heads without
 * races and dq rows belong to one task: per key block, Kᵀ and Vᵀ in scratch give s = q·k and dp = dO·v as vectors,
 * p = exp(s − lse), ds = p ⊙ (dp − Δ); dq_i += scale·Σ ds_j k_j, dv_j += p_j dO_i, dk_j += scale·ds_j q_i.
 */
import { f32Word, WasmRuntime } from "../runtime.ts";
import type { WasmFeatures } from "../runtime.ts";
import { fma, hmax, hsum, splat } from "../wat.ts";
import { ShapeMismatchError } from "../../errors.ts";
import type { AttentionPlan, Backend } from "../../kernels/types.ts";
import { Tensor } from "../../tensor.ts";

const BC = 16, QB = 32, MAX_D = 256;
const MAXF = 3.4028234663852886e38;
/** Scratch layout (bytes from $scratch). */
const S = {
  kt: 0,
  vt: MAX_D * BC * 4,
  s: 2 * MAX_D * BC * 4,
  p: 2 * MAX_D * BC * 4 + 64,
  ds: 2 * MAX_D * BC * 4 + 128,
  state: 2 * MAX_D * BC * 4 + 256,
  dkb: 2 * MAX_D * BC * 4 + 256 + QB * 8 + 256,
} as const;
const DVB = S.dkb + BC * MAX_D * 4;
const DELTA = DVB + BC * MAX_D * 4;
/** Parameter words. */
const W = {
  q: 0,
  k: 1,
  v: 2,
  mask: 3,
  range: 4,
  out: 5,
  lse: 6,
  B: 7,
  Hq: 8,
  Hkv: 9,
  Tq: 10,
  Tk: 11,
  D: 12,
  scale: 13,
  off: 14,
  causal: 15,
  maskKind: 16,
  msb: 17,
  msh: 18,
  msq: 19,
  msk: 20,
  hasRange: 21,
  nQb: 22,
  g: 23,
  dq: 24,
  dk: 25,
  dv: 26,
  /** Forward: the (B, Hkv, D, Tkp) transposed keys (attn_kt). */
  kt: 27,
  tkp: 28,
} as const;

const P = (name: keyof typeof W, t = "i32") => `(${t}.load offset=${4 * W[name]} (local.get $p))`;
const sc = (off: number) => `(i32.add (global.get $scratch) (i32.const ${off}))`;

/** WAT shared by both kernels: query row i's visible key range [lo, hi) into $lo, $hi. */
const ROW_RANGE = `
    (local.set $lo (i32.const 0))
    (local.set $hi (local.get $Tk))
    (if (local.get $hasRange) (then
      (local.set $lo (i32.load (i32.add (local.get $range) (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $hi (i32.load offset=4 (i32.add (local.get $range) (i32.shl (local.get $i) (i32.const 3)))))))
    (if (local.get $causal) (then
      (local.set $cap (i32.add (i32.add (local.get $i) (local.get $off)) (i32.const 1)))
      (if (i32.lt_s (local.get $cap) (i32.const 0)) (then (local.set $cap (i32.const 0))))
      (if (i32.lt_s (local.get $cap) (local.get $hi)) (then (local.set $hi (local.get $cap))))))`;

/** Transpose rows [jb, jb + nb) of a (Tk, D) head at $src into D × BC at scratch offset `dst` (zero past nb). */
function transpose(src: string, dst: number): string {
  return `
    (local.set $d (i32.const 0))
    (block $Btd (loop $Ltd
      (br_if $Btd (i32.ge_s (local.get $d) (local.get $D)))
      (local.set $jj (i32.const 0))
      (block $Btj (loop $Ltj
        (br_if $Btj (i32.ge_s (local.get $jj) (i32.const ${BC})))
        (f32.store (i32.add ${
    sc(dst)
  } (i32.shl (i32.add (i32.mul (local.get $d) (i32.const ${BC})) (local.get $jj)) (i32.const 2)))
          (select
            (f32.load (i32.add ${src} (i32.shl (i32.add (i32.mul (i32.add (local.get $jb) (local.get $jj)) (local.get $D)) (local.get $d)) (i32.const 2))))
            (f32.const 0)
            (i32.lt_s (local.get $jj) (local.get $nb))))
        (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
        (br $Ltj)))
      (local.set $d (i32.add (local.get $d) (i32.const 1)))
      (br $Ltd)))`;
}

/**
 * s0..s3 = row · T (16 key columns) for the D-element row at `row`: T is D rows of 16 keys starting at address
 * `tp`, `stride` bytes apart (the scratch block: 64; the transposed head: 4·Tkp).
 */
function scores(madd: ReturnType<typeof fma>, row: string, tp: string, stride: string, out: string): string {
  const acc = [0, 1, 2, 3].map((u) => `$${out}${u}`);
  return `
    ${acc.map((a) => `(local.set ${a} (v128.const i32x4 0 0 0 0))`).join(" ")}
    (local.set $d (i32.const 0))
    (local.set $tp ${tp})
    (block $Bsd (loop $Lsd
      (br_if $Bsd (i32.ge_s (local.get $d) (local.get $D)))
      (local.set $qd (v128.load32_splat (i32.add ${row} (i32.shl (local.get $d) (i32.const 2)))))
      ${
    acc.map((a, u) =>
      `(local.set ${a} ${madd("(local.get $qd)", `(v128.load offset=${16 * u} (local.get $tp))`, `(local.get ${a})`)})`
    ).join("\n      ")
  }
      (local.set $tp (i32.add (local.get $tp) ${stride}))
      (local.set $d (i32.add (local.get $d) (i32.const 1)))
      (br $Lsd)))`;
}

/**
 * Scores × scale; if the block is not fully visible (or a mask applies), through the S scratch: invisible keys
 * get −MAXF, the additive mask is added, the binary mask hides zeros.
 */
const FIX_SCORES = `
    (local.set $s0 (f32x4.mul (local.get $s0) (local.get $scv)))
    (local.set $s1 (f32x4.mul (local.get $s1) (local.get $scv)))
    (local.set $s2 (f32x4.mul (local.get $s2) (local.get $scv)))
    (local.set $s3 (f32x4.mul (local.get $s3) (local.get $scv)))
    (if (i32.or (local.get $maskKind)
          (i32.or (i32.gt_s (local.get $lo) (local.get $jb)) (i32.lt_s (local.get $hi) (i32.add (local.get $jb) (i32.const ${BC})))))
      (then
        (v128.store offset=${S.s} (global.get $scratch) (local.get $s0))
        (v128.store offset=${S.s + 16} (global.get $scratch) (local.get $s1))
        (v128.store offset=${S.s + 32} (global.get $scratch) (local.get $s2))
        (v128.store offset=${S.s + 48} (global.get $scratch) (local.get $s3))
        (local.set $jj (i32.const 0))
        (block $Bfj (loop $Lfj
          (br_if $Bfj (i32.ge_s (local.get $jj) (i32.const ${BC})))
          (local.set $j (i32.add (local.get $jb) (local.get $jj)))
          (local.set $sa (i32.add (global.get $scratch) (i32.add (i32.const ${S.s}) (i32.shl (local.get $jj) (i32.const 2)))))
          (local.set $vis (i32.and (i32.ge_s (local.get $j) (local.get $lo)) (i32.lt_s (local.get $j) (local.get $hi))))
          (if (i32.and (local.get $vis) (i32.ne (local.get $maskKind) (i32.const 0))) (then
            (local.set $mv (f32.load (i32.add (local.get $mask) (i32.shl
              (i32.add (i32.add (i32.mul (local.get $b) (local.get $msb)) (i32.mul (local.get $h) (local.get $msh)))
                (i32.add (i32.mul (local.get $i) (local.get $msq)) (i32.mul (local.get $j) (local.get $msk)))) (i32.const 2)))))
            (if (i32.eq (local.get $maskKind) (i32.const 2))
              (then (local.set $vis (f32.ne (local.get $mv) (f32.const 0))))
              (else
                (local.set $vis (f32.gt (local.get $mv) (f32.const -1e30)))
                (f32.store (local.get $sa) (f32.add (f32.load (local.get $sa)) (local.get $mv)))))))
          (if (i32.eqz (local.get $vis)) (then (f32.store (local.get $sa) (f32.const ${-MAXF}))))
          (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
          (br $Lfj)))
        (local.set $s0 (v128.load offset=${S.s} (global.get $scratch)))
        (local.set $s1 (v128.load offset=${S.s + 16} (global.get $scratch)))
        (local.set $s2 (v128.load offset=${S.s + 32} (global.get $scratch)))
        (local.set $s3 (v128.load offset=${S.s + 48} (global.get $scratch)))))`;

/** p_u = valid ? exp(s_u − ref) : 0 (ref splat in $refv), stored to scratch `dst`. */
function probs(dst: number): string {
  return [0, 1, 2, 3].map((u) =>
    `(local.set $p${u} (v128.and (call $exp4 (f32x4.sub (local.get $s${u}) (local.get $refv)))
      (f32x4.gt (local.get $s${u}) ${splat(-1e30)})))
    (v128.store offset=${dst + 16 * u} (global.get $scratch) (local.get $p${u}))`
  ).join("\n    ");
}

/**
 * An exported attention task function: loads LOCALS and LOAD_PARAMS, then runs `body` once per task $t in
 * [$t0, $t1) (the threads split the task range).
 */
function taskFunc(name: string, body: string): string {
  return `
(func $${name} (export "${name}") (param $p i32) (param $t0 i32) (param $t1 i32)
  ${LOCALS}
  ${LOAD_PARAMS}
  (local.set $t (local.get $t0))
  (block $Bt (loop $Lt
    (br_if $Bt (i32.ge_s (local.get $t) (local.get $t1)))
${body}
    (local.set $t (i32.add (local.get $t) (i32.const 1)))
    (br $Lt))))`;
}

/** row[0..D) += w · src[0..D) (D % 4 == 0). */
function axpy(madd: ReturnType<typeof fma>, dst: string, w: string, src: string): string {
  return `
        (local.set $d (i32.const 0))
        (block $Bax (loop $Lax
          (br_if $Bax (i32.ge_s (local.get $d) (local.get $D)))
          (local.set $da (i32.add ${dst} (i32.shl (local.get $d) (i32.const 2))))
          (v128.store (local.get $da) ${
    madd(w, `(v128.load (i32.add ${src} (i32.shl (local.get $d) (i32.const 2))))`, "(v128.load (local.get $da))")
  })
          (local.set $d (i32.add (local.get $d) (i32.const 4)))
          (br $Lax)))`;
}

const LOCALS =
  `(local $t i32) (local $b i32) (local $h i32) (local $kvh i32) (local $qb i32) (local $i0 i32) (local $i1 i32)
  (local $i i32) (local $j i32) (local $jj i32) (local $jb i32) (local $nb i32) (local $d i32) (local $lo i32)
  (local $hi i32) (local $cap i32) (local $loAll i32) (local $hiAll i32) (local $vis i32) (local $sa i32) (local $tp i32)
  (local $da i32) (local $qrow i32) (local $orow i32) (local $kb i32) (local $vb i32) (local $qh i32) (local $st i32)
  (local $mv f32) (local $m f32) (local $l f32) (local $mn f32) (local $al f32) (local $pj f32) (local $f f32)
  (local $qd v128) (local $scv v128) (local $refv v128) (local $tmp v128)
  (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
  (local $p0 v128) (local $p1 v128) (local $p2 v128) (local $p3 v128)
  (local $dp0 v128) (local $dp1 v128) (local $dp2 v128) (local $dp3 v128)
  (local $q i32) (local $k i32) (local $v i32) (local $mask i32) (local $range i32) (local $out i32) (local $lse i32)
  (local $Hq i32) (local $Hkv i32) (local $Tq i32) (local $Tk i32) (local $D i32) (local $off i32) (local $causal i32)
  (local $maskKind i32) (local $msb i32) (local $msh i32) (local $msq i32) (local $msk i32) (local $hasRange i32)
  (local $nQb i32) (local $grp i32) (local $hh i32) (local $g i32) (local $dq i32) (local $dk i32) (local $dv i32)
  (local $grow i32) (local $dqrow i32) (local $delta f32) (local $lsei f32) (local $iLo i32) (local $iHi i32)
  (local $kt i32) (local $tkp i32) (local $ktb i32)`;

const LOAD_PARAMS = ([
  "q",
  "k",
  "v",
  "mask",
  "range",
  "out",
  "lse",
  "Hq",
  "Hkv",
  "Tq",
  "Tk",
  "D",
  "off",
  "causal",
  "maskKind",
  "msb",
  "msh",
  "msq",
  "msk",
  "hasRange",
  "nQb",
  "g",
  "dq",
  "dk",
  "dv",
  "kt",
  "tkp",
] as const)
  .map((n) => `(local.set $${n} ${P(n)})`).join("\n  ") + `
  (local.set $scv (f32x4.splat ${P("scale", "f32")}))
  (local.set $grp (i32.div_u (local.get $Hq) (local.get $Hkv)))`;

function forwardWat(f: WasmFeatures): string {
  const madd = fma(f);
  const headOff = (ptr: string, rows: string) =>
    `(i32.add ${ptr} (i32.shl (i32.mul ${rows} (local.get $D)) (i32.const 2)))`;
  const kvHead = "(i32.add (i32.mul (local.get $b) (local.get $Hkv)) (local.get $kvh))";
  const rowState = `(i32.add ${sc(S.state)} (i32.shl (i32.sub (local.get $i) (local.get $i0)) (i32.const 3)))`;
  const orow = headOff("(local.get $out)", "(i32.add (local.get $qh) (local.get $i))");
  /** out row ·= the splat in $refv (or, with `zero`, out row = 0: uninitialised memory may hold NaN) */
  const scaleRow = (zero = false) => `
      (local.set $orow ${orow})
      (local.set $d (i32.const 0))
      (block $Bn (loop $Ln
        (br_if $Bn (i32.ge_s (local.get $d) (local.get $D)))
        (local.set $da (i32.add (local.get $orow) (i32.shl (local.get $d) (i32.const 2))))
        (v128.store (local.get $da) ${
    zero ? "(v128.const i32x4 0 0 0 0)" : "(f32x4.mul (v128.load (local.get $da)) (local.get $refv))"
  })
        (local.set $d (i32.add (local.get $d) (i32.const 4)))
        (br $Ln)))`;
  return taskFunc(
    "attn_fwd",
    `
    ;; task → (b, h, query block)
    (local.set $qb (i32.rem_u (local.get $t) (local.get $nQb)))
    (local.set $h (i32.rem_u (i32.div_u (local.get $t) (local.get $nQb)) (local.get $Hq)))
    (local.set $b (i32.div_u (local.get $t) (i32.mul (local.get $nQb) (local.get $Hq))))
    (local.set $kvh (i32.div_u (local.get $h) (local.get $grp)))
    (local.set $i0 (i32.mul (local.get $qb) (i32.const ${QB})))
    (local.set $i1 (i32.add (local.get $i0) (i32.const ${QB})))
    (if (i32.gt_s (local.get $i1) (local.get $Tq)) (then (local.set $i1 (local.get $Tq))))
    (local.set $qh (i32.mul (i32.add (i32.mul (local.get $b) (local.get $Hq)) (local.get $h)) (local.get $Tq)))
    (local.set $vb ${headOff("(local.get $v)", `(i32.mul ${kvHead} (local.get $Tk))`)})
    ;; this head's Kᵀ: D rows of Tkp keys (Tk rounded up to BC, zeros past Tk), transposed once per call (attn_kt)
    (local.set $ktb (i32.add (local.get $kt) (i32.shl (i32.mul ${kvHead} (i32.mul (local.get $D) (local.get $tkp))) (i32.const 2))))
    ;; per-row state m = −MAXF, l = 0, output row = 0
    (local.set $i (local.get $i0))
    (block $Bi (loop $Li
      (br_if $Bi (i32.ge_s (local.get $i) (local.get $i1)))
      (local.set $st ${rowState})
      (f32.store (local.get $st) (f32.const ${-MAXF}))
      (f32.store offset=4 (local.get $st) (f32.const 0))
      ${scaleRow(true)}
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $Li)))
    ;; keys any row of the block may see
    (local.set $loAll (i32.const 0))
    (local.set $hiAll (local.get $Tk))
    (if (local.get $hasRange) (then
      (local.set $loAll (i32.load (i32.add (local.get $range) (i32.shl (local.get $i0) (i32.const 3)))))
      (local.set $hiAll (i32.load offset=4 (i32.add (local.get $range) (i32.shl (i32.sub (local.get $i1) (i32.const 1)) (i32.const 3)))))))
    (if (local.get $causal) (then
      (local.set $cap (i32.add (local.get $i1) (local.get $off)))
      (if (i32.lt_s (local.get $cap) (i32.const 0)) (then (local.set $cap (i32.const 0))))
      (if (i32.lt_s (local.get $cap) (local.get $hiAll)) (then (local.set $hiAll (local.get $cap))))))
    ;; key blocks start at multiples of BC so every block is a whole 16-key slice of Kᵀ
    (local.set $jb (i32.and (local.get $loAll) (i32.const ${-BC})))
    (block $Bjb (loop $Ljb
      (br_if $Bjb (i32.ge_s (local.get $jb) (local.get $hiAll)))
      (local.set $nb (i32.sub (local.get $hiAll) (local.get $jb)))
      (if (i32.gt_s (local.get $nb) (i32.const ${BC})) (then (local.set $nb (i32.const ${BC}))))
      (local.set $i (local.get $i0))
      (block $Bi2 (loop $Li2
        (br_if $Bi2 (i32.ge_s (local.get $i) (local.get $i1)))
        ${ROW_RANGE}
        (if (i32.gt_s (local.get $hi) (i32.add (local.get $jb) (local.get $nb))) (then (local.set $hi (i32.add (local.get $jb) (local.get $nb)))))
        (if (i32.and (i32.lt_s (local.get $lo) (i32.add (local.get $jb) (local.get $nb))) (i32.gt_s (local.get $hi) (local.get $jb))) (then
          (local.set $qrow ${headOff("(local.get $q)", "(i32.add (local.get $qh) (local.get $i))")})
          ${
      scores(
        madd,
        "(local.get $qrow)",
        "(i32.add (local.get $ktb) (i32.shl (local.get $jb) (i32.const 2)))",
        "(i32.shl (local.get $tkp) (i32.const 2))",
        "s",
      )
    }
          ${FIX_SCORES}
          ;; online softmax: m' = max(m, max s), α = exp(m − m'), l = α·l + Σ p, o = α·o + Σ p_j v_j
          (local.set $mn ${
      hmax(
        "(f32x4.pmax (f32x4.pmax (local.get $s0) (local.get $s1)) (f32x4.pmax (local.get $s2) (local.get $s3)))",
        "tmp",
      )
    })
          (local.set $st ${rowState})
          (local.set $m (f32.load (local.get $st)))
          (if (f32.gt (local.get $mn) (f32.const -1e30)) (then
            (if (f32.lt (local.get $mn) (local.get $m)) (then (local.set $mn (local.get $m))))
            (local.set $al (call $exp1 (f32.sub (local.get $m) (local.get $mn))))
            (local.set $refv (f32x4.splat (local.get $mn)))
            ${probs(S.p)}
            (local.set $l (f32.add (f32.mul (f32.load offset=4 (local.get $st)) (local.get $al))
              ${
      hsum("(f32x4.add (f32x4.add (local.get $p0) (local.get $p1)) (f32x4.add (local.get $p2) (local.get $p3)))", "tmp")
    }))
            (f32.store (local.get $st) (local.get $mn))
            (f32.store offset=4 (local.get $st) (local.get $l))
            ;; o = α·o + Σ_j p_j v_j, one output vector at a time over the block's keys (one load/store per vector)
            (local.set $refv (f32x4.splat (local.get $al)))
            (local.set $orow ${orow})
            (local.set $d (i32.const 0))
            (block $Bov (loop $Lov
              (br_if $Bov (i32.ge_s (local.get $d) (local.get $D)))
              (local.set $da (i32.add (local.get $orow) (i32.shl (local.get $d) (i32.const 2))))
              (local.set $tmp (f32x4.mul (v128.load (local.get $da)) (local.get $refv)))
              (local.set $tp (i32.add (local.get $vb) (i32.shl (i32.add (i32.mul (local.get $jb) (local.get $D)) (local.get $d)) (i32.const 2))))
              (local.set $jj (i32.const 0))
              (block $Bpj (loop $Lpj
                (br_if $Bpj (i32.ge_s (local.get $jj) (local.get $nb)))
                (local.set $tmp ${
      madd(
        `(v128.load32_splat offset=${S.p} (i32.add (global.get $scratch) (i32.shl (local.get $jj) (i32.const 2))))`,
        "(v128.load (local.get $tp))",
        "(local.get $tmp)",
      )
    })
                (local.set $tp (i32.add (local.get $tp) (i32.shl (local.get $D) (i32.const 2))))
                (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
                (br $Lpj)))
              (v128.store (local.get $da) (local.get $tmp))
              (local.set $d (i32.add (local.get $d) (i32.const 4)))
              (br $Lov)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $Li2)))
      (local.set $jb (i32.add (local.get $jb) (i32.const ${BC})))
      (br $Ljb)))
    ;; o /= l; lse = m + log l (−∞ and o = 0 for a row with no visible key)
    (local.set $i (local.get $i0))
    (block $Bi3 (loop $Li3
      (br_if $Bi3 (i32.ge_s (local.get $i) (local.get $i1)))
      (local.set $st ${rowState})
      (local.set $l (f32.load offset=4 (local.get $st)))
      (local.set $refv (f32x4.splat (select (f32.div (f32.const 1) (local.get $l)) (f32.const 0) (f32.gt (local.get $l) (f32.const 0)))))
      ${scaleRow()}
      (f32.store (i32.add (local.get $lse) (i32.shl (i32.add (local.get $qh) (local.get $i)) (i32.const 2)))
        (select (f32.add (f32.load (local.get $st)) (call $log1 (local.get $l))) (f32.const -inf) (f32.gt (local.get $l) (f32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $Li3)))`,
  );
}

/** Σ_d a[d]·b[d] over D floats (D % 4 == 0). */
function dot(a: string, b: string): string {
  return `
      (local.set $tmp (v128.const i32x4 0 0 0 0))
      (local.set $d (i32.const 0))
      (block $Bdt (loop $Ldt
        (br_if $Bdt (i32.ge_s (local.get $d) (local.get $D)))
        (local.set $tmp (f32x4.add (local.get $tmp) (f32x4.mul
          (v128.load (i32.add ${a} (i32.shl (local.get $d) (i32.const 2))))
          (v128.load (i32.add ${b} (i32.shl (local.get $d) (i32.const 2)))))))
        (local.set $d (i32.add (local.get $d) (i32.const 4)))
        (br $Ldt)))`;
}

function backwardWat(f: WasmFeatures): string {
  const madd = fma(f);
  const headOff = (ptr: string, rows: string) =>
    `(i32.add ${ptr} (i32.shl (i32.mul ${rows} (local.get $D)) (i32.const 2)))`;
  const kvRows = "(i32.mul (i32.add (i32.mul (local.get $b) (local.get $Hkv)) (local.get $kvh)) (local.get $Tk))";
  const zeroRows = (ptr: string, rows: string) => `
    (local.set $da ${ptr})
    (local.set $cap (i32.add (local.get $da) (i32.shl (i32.mul ${rows} (local.get $D)) (i32.const 2))))
    (block $Bzr (loop $Lzr
      (br_if $Bzr (i32.ge_u (local.get $da) (local.get $cap)))
      (v128.store (local.get $da) (v128.const i32x4 0 0 0 0))
      (local.set $da (i32.add (local.get $da) (i32.const 16)))
      (br $Lzr)))`;
  return taskFunc(
    "attn_bwd",
    `
    ;; task → (b, KV head)
    (local.set $kvh (i32.rem_u (local.get $t) (local.get $Hkv)))
    (local.set $b (i32.div_u (local.get $t) (local.get $Hkv)))
    (local.set $kb ${headOff("(local.get $k)", kvRows)})
    (local.set $vb ${headOff("(local.get $v)", kvRows)})
    ;; dq rows of the group's query heads start at 0; Δ_i = dO_i · O_i
    (local.set $hh (i32.const 0))
    (block $Bh0 (loop $Lh0
      (br_if $Bh0 (i32.ge_s (local.get $hh) (local.get $grp)))
      (local.set $h (i32.add (i32.mul (local.get $kvh) (local.get $grp)) (local.get $hh)))
      (local.set $qh (i32.mul (i32.add (i32.mul (local.get $b) (local.get $Hq)) (local.get $h)) (local.get $Tq)))
      ${zeroRows(headOff("(local.get $dq)", "(local.get $qh)"), "(local.get $Tq)")}
      (local.set $i (i32.const 0))
      (block $Bd0 (loop $Ld0
        (br_if $Bd0 (i32.ge_s (local.get $i) (local.get $Tq)))
        ${
      dot(
        headOff("(local.get $g)", "(i32.add (local.get $qh) (local.get $i))"),
        headOff("(local.get $out)", "(i32.add (local.get $qh) (local.get $i))"),
      )
    }
        (f32.store offset=${DELTA} (i32.add (global.get $scratch) (i32.shl (i32.add (i32.mul (local.get $hh) (local.get $Tq)) (local.get $i)) (i32.const 2)))
          ${hsum("(local.get $tmp)", "tmp")})
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $Ld0)))
      (local.set $hh (i32.add (local.get $hh) (i32.const 1)))
      (br $Lh0)))
    (local.set $jb (i32.const 0))
    (block $Bjb (loop $Ljb
      (br_if $Bjb (i32.ge_s (local.get $jb) (local.get $Tk)))
      (local.set $nb (i32.sub (local.get $Tk) (local.get $jb)))
      (if (i32.gt_s (local.get $nb) (i32.const ${BC})) (then (local.set $nb (i32.const ${BC}))))
      ${transpose("(local.get $kb)", S.kt)}
      ${transpose("(local.get $vb)", S.vt)}
      ${zeroRows(sc(S.dkb), `(i32.const ${BC})`)}
      ${zeroRows(sc(DVB), `(i32.const ${BC})`)}
      ;; queries that may see keys [jb, jb + nb)
      (local.set $iLo (i32.const 0))
      (local.set $iHi (local.get $Tq))
      (if (local.get $hasRange) (then
        (local.set $iLo (i32.load (i32.add (local.get $range) (i32.shl (local.get $jb) (i32.const 3)))))
        (local.set $iHi (i32.load offset=4 (i32.add (local.get $range) (i32.shl (i32.sub (i32.add (local.get $jb) (local.get $nb)) (i32.const 1)) (i32.const 3)))))))
      (if (local.get $causal) (then
        (local.set $cap (i32.sub (local.get $jb) (local.get $off)))
        (if (i32.gt_s (local.get $cap) (local.get $iLo)) (then (local.set $iLo (local.get $cap))))))
      (local.set $hh (i32.const 0))
      (block $Bh (loop $Lh
        (br_if $Bh (i32.ge_s (local.get $hh) (local.get $grp)))
        (local.set $h (i32.add (i32.mul (local.get $kvh) (local.get $grp)) (local.get $hh)))
        (local.set $qh (i32.mul (i32.add (i32.mul (local.get $b) (local.get $Hq)) (local.get $h)) (local.get $Tq)))
        (local.set $i (local.get $iLo))
        (block $Bi (loop $Li
          (br_if $Bi (i32.ge_s (local.get $i) (local.get $iHi)))
          ${ROW_RANGE}
          (if (i32.gt_s (local.get $hi) (i32.add (local.get $jb) (local.get $nb))) (then (local.set $hi (i32.add (local.get $jb) (local.get $nb)))))
          (if (i32.and (i32.lt_s (local.get $lo) (i32.add (local.get $jb) (local.get $nb))) (i32.gt_s (local.get $hi) (local.get $jb))) (then
            (local.set $qrow ${headOff("(local.get $q)", "(i32.add (local.get $qh) (local.get $i))")})
            (local.set $grow ${headOff("(local.get $g)", "(i32.add (local.get $qh) (local.get $i))")})
            (local.set $dqrow ${headOff("(local.get $dq)", "(i32.add (local.get $qh) (local.get $i))")})
            ${scores(madd, "(local.get $qrow)", sc(S.kt), `(i32.const ${4 * BC})`, "s")}
            ${scores(madd, "(local.get $grow)", sc(S.vt), `(i32.const ${4 * BC})`, "dp")}
            ${FIX_SCORES}
            ;; p = exp(s − lse_i) (0 where invisible), ds = p ⊙ (dp − Δ_i)
            (local.set $lsei (f32.load (i32.add (local.get $lse) (i32.shl (i32.add (local.get $qh) (local.get $i)) (i32.const 2)))))
            (local.set $refv (f32x4.splat (local.get $lsei)))
            ${probs(S.p)}
            (local.set $delta (f32.load offset=${DELTA} (i32.add (global.get $scratch) (i32.shl (i32.add (i32.mul (local.get $hh) (local.get $Tq)) (local.get $i)) (i32.const 2)))))
            (local.set $refv (f32x4.splat (local.get $delta)))
            ${
      [0, 1, 2, 3].map((u) =>
        `(v128.store offset=${
          S.ds + 16 * u
        } (global.get $scratch) (f32x4.mul (f32x4.mul (local.get $p${u}) (f32x4.sub (local.get $dp${u}) (local.get $refv))) (local.get $scv)))`
      ).join("\n            ")
    }
            ;; dq_i += Σ_j scale·ds_j k_j ; dv_j += p_j dO_i ; dk_j += scale·ds_j q_i
            (local.set $jj (i32.const 0))
            (block $Bj (loop $Lj
              (br_if $Bj (i32.ge_s (local.get $jj) (local.get $nb)))
              (local.set $f (f32.load offset=${S.ds} (i32.add (global.get $scratch) (i32.shl (local.get $jj) (i32.const 2)))))
              (local.set $pj (f32.load offset=${S.p} (i32.add (global.get $scratch) (i32.shl (local.get $jj) (i32.const 2)))))
              (if (f32.ne (local.get $f) (f32.const 0)) (then
                (local.set $refv (f32x4.splat (local.get $f)))
                ${
      axpy(
        madd,
        "(local.get $dqrow)",
        "(local.get $refv)",
        headOff("(local.get $kb)", "(i32.add (local.get $jb) (local.get $jj))"),
      )
    }
                ${
      axpy(
        madd,
        `(i32.add ${sc(S.dkb)} (i32.shl (i32.mul (local.get $jj) (local.get $D)) (i32.const 2)))`,
        "(local.get $refv)",
        "(local.get $qrow)",
      )
    }))
              (if (f32.ne (local.get $pj) (f32.const 0)) (then
                (local.set $refv (f32x4.splat (local.get $pj)))
                ${
      axpy(
        madd,
        `(i32.add ${sc(DVB)} (i32.shl (i32.mul (local.get $jj) (local.get $D)) (i32.const 2)))`,
        "(local.get $refv)",
        "(local.get $grow)",
      )
    }))
              (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
              (br $Lj)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $Li)))
        (local.set $hh (i32.add (local.get $hh) (i32.const 1)))
        (br $Lh)))
      ;; write the block's dk, dv rows
      (local.set $jj (i32.const 0))
      (block $Bw (loop $Lw
        (br_if $Bw (i32.ge_s (local.get $jj) (local.get $nb)))
        (local.set $d (i32.const 0))
        (block $Bwd (loop $Lwd
          (br_if $Bwd (i32.ge_s (local.get $d) (local.get $D)))
          (local.set $da (i32.shl (i32.add (i32.mul (local.get $jj) (local.get $D)) (local.get $d)) (i32.const 2)))
          (v128.store (i32.add ${
      headOff("(local.get $dk)", `(i32.add ${kvRows} (i32.add (local.get $jb) (local.get $jj)))`)
    } (i32.shl (local.get $d) (i32.const 2)))
            (v128.load (i32.add ${sc(S.dkb)} (local.get $da))))
          (v128.store (i32.add ${
      headOff("(local.get $dv)", `(i32.add ${kvRows} (i32.add (local.get $jb) (local.get $jj)))`)
    } (i32.shl (local.get $d) (i32.const 2)))
            (v128.load (i32.add ${sc(DVB)} (local.get $da))))
          (local.set $d (i32.add (local.get $d) (i32.const 4)))
          (br $Lwd)))
        (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
        (br $Lw)))
      (local.set $jb (i32.add (local.get $jb) (i32.const ${BC})))
      (br $Ljb)))`,
  );
}

/** Kᵀ per KV head: kt[(b·Hkv + c)·D + d][j] = k[b, c, j, d] for j < Tk, 0 for Tk ≤ j < Tkp. */
const KT_WAT = `
(func $attn_kt (export "attn_kt") (param $p i32) (param $t0 i32) (param $t1 i32)
  (local $k i32) (local $kt i32) (local $Tk i32) (local $tkp i32) (local $D i32) (local $t i32) (local $d i32)
  (local $j i32) (local $src i32) (local $dst i32)
  (local.set $k ${P("k")}) (local.set $kt ${P("kt")}) (local.set $Tk ${P("Tk")}) (local.set $tkp ${P("tkp")})
  (local.set $D ${P("D")})
  (local.set $t (local.get $t0))
  (block $Bt (loop $Lt
    (br_if $Bt (i32.ge_s (local.get $t) (local.get $t1)))
    (local.set $d (i32.const 0))
    (block $Bd (loop $Ld
      (br_if $Bd (i32.ge_s (local.get $d) (local.get $D)))
      (local.set $src (i32.add (local.get $k)
        (i32.shl (i32.add (i32.mul (i32.mul (local.get $t) (local.get $Tk)) (local.get $D)) (local.get $d)) (i32.const 2))))
      (local.set $dst (i32.add (local.get $kt)
        (i32.shl (i32.mul (i32.add (i32.mul (local.get $t) (local.get $D)) (local.get $d)) (local.get $tkp)) (i32.const 2))))
      (local.set $j (i32.const 0))
      (block $Bj (loop $Lj
        (br_if $Bj (i32.ge_s (local.get $j) (local.get $tkp)))
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2)))
          (if (result f32) (i32.lt_s (local.get $j) (local.get $Tk))
            (then (f32.load (i32.add (local.get $src) (i32.shl (i32.mul (local.get $j) (local.get $D)) (i32.const 2)))))
            (else (f32.const 0))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $Lj)))
      (local.set $d (i32.add (local.get $d) (i32.const 1)))
      (br $Ld)))
    (local.set $t (i32.add (local.get $t) (i32.const 1)))
    (br $Lt))))`;

export function attentionWat(f: WasmFeatures): string {
  return KT_WAT + forwardWat(f) + backwardWat(f);
}

const MASK_KIND = { none: 0, additive: 1, binary: 2 } as const;

function words(p: AttentionPlan, t: Record<string, Tensor | null>): number[] {
  if (p.D > MAX_D) {
    throw new ShapeMismatchError("attention", `the WASM kernels take head dims up to ${MAX_D}, got ${p.D}`);
  }
  const w = new Array<number>(29).fill(0);
  const ptr = (x: Tensor | null | undefined) => (x ? x.ptr : 0);
  w[W.q] = ptr(t.q);
  w[W.k] = ptr(t.k);
  w[W.v] = ptr(t.v);
  w[W.mask] = ptr(t.mask);
  w[W.range] = ptr(p.range);
  w[W.out] = ptr(t.out);
  w[W.lse] = ptr(t.lse);
  w[W.B] = p.B;
  w[W.Hq] = p.Hq;
  w[W.Hkv] = p.Hkv;
  w[W.Tq] = p.Tq;
  w[W.Tk] = p.Tk;
  w[W.D] = p.D;
  w[W.scale] = f32Word(p.scale);
  w[W.off] = p.Tk - p.Tq;
  w[W.causal] = +p.causal;
  w[W.maskKind] = MASK_KIND[p.mask];
  [w[W.msb], w[W.msh], w[W.msq], w[W.msk]] = p.maskStrides;
  w[W.hasRange] = +(p.range !== null);
  w[W.nQb] = Math.ceil(p.Tq / QB);
  w[W.g] = ptr(t.g);
  w[W.dq] = ptr(t.dq);
  w[W.dk] = ptr(t.dk);
  w[W.dv] = ptr(t.dv);
  w[W.kt] = ptr(t.kt);
  w[W.tkp] = Math.ceil(p.Tk / BC) * BC;
  return w;
}

/** ≈ flops: 4·D per visible (query, key) pair (half the pairs under a causal mask). */
const flops = (p: AttentionPlan) => 4 * p.B * p.Hq * p.Tq * p.Tk * p.D * (p.causal ? 0.5 : 1);

export const attentionForward: Backend["attentionForward"] = (t, p) => {
  const rt = WasmRuntime.current();
  const kt = Tensor.empty([p.B, p.Hkv, p.D, Math.ceil(p.Tk / BC) * BC], "f32", "wasm");
  try {
    const w = words(p, { ...t, kt });
    rt.run("attn_kt", w, p.B * p.Hkv, kt.size * 8);
    rt.run("attn_fwd", w, p.B * p.Hq * Math.ceil(p.Tq / QB), flops(p));
  } finally {
    kt.dispose();
  }
};

export const attentionBackward: Backend["attentionBackward"] = (t, g, grads, p) => {
  const grp = p.Hq / p.Hkv;
  if ((DELTA + grp * p.Tq * 4) > (4 << 20)) {
    throw new ShapeMismatchError("attention", `the WASM backward keeps ${grp}·${p.Tq} row statistics; too long`);
  }
  const w = words(p, { ...t, g, ...grads });
  WasmRuntime.current().run("attn_bwd", w, p.B * p.Hkv, 2.5 * flops(p));
};
