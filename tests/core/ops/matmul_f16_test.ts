/**
 * f16 weight storage in the GEMM and the embedding gather: an f16 operand is widened to f32 as it is packed (WASM) or
 * loaded (WGSL, unpack2x16float), so the result must equal the f64 reference on the f16-rounded values to f32
 * accumulation tolerance, on both devices, on shapes past every blocking edge; and the f32 operand's gradient flows
 * through the f16 one (a frozen weight).
 */
import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import {
  backward,
  embedding,
  indexSelectReference,
  matmul,
  matmulReference,
  Rng,
  Tensor,
  tidyAsync,
} from "../../../core/runtime.ts";
import { fromF16Bits, toF16Bits } from "../../../core/tensor.ts";
import { assertClose, deviceTest } from "./_check.ts";

/** Random values already on the f16 grid (so f16 storage holds them exactly), with magnitudes across its range. */
function halfValues(n: number, rng: Rng, scale = 1): Float64Array {
  return Float64Array.from(fromF16Bits(toF16Bits(Array.from({ length: n }, () => rng.normal() * scale))));
}

const CASES: [number, number, number, number, boolean, boolean][] = [
  // batch, m, k, n, transA, transB
  [1, 1, 1, 1, false, false],
  [1, 3, 5, 4, false, true],
  [1, 9, 13, 17, true, false],
  [1, 127, 300, 37, false, true], // edge strips in M and N, two K slices
  [1, 61, 513, 9, true, true],
  [2, 13, 260, 130, false, false], // batched A over a shared f16 B, full and edge B strips
  [1, 7, 40, 24, false, false], // full 8-column strips of an untransposed f16 B only
];

for (const half of ["B", "A", "both"] as const) {
  deviceTest(`matmul with f16 ${half} storage matches the f64 reference on the f16 values`, async () => {
    const rng = new Rng(5);
    for (const [bt, m, k, n, transA, transB] of CASES) {
      const aShape = [...(bt > 1 ? [bt] : []), ...(transA ? [k, m] : [m, k])];
      const bShape = transB ? [n, k] : [k, n];
      const a = halfValues(bt * m * k, rng), b = halfValues(k * n, rng, 0.05);
      const bias = Float64Array.from({ length: n }, () => rng.normal());
      await tidyAsync(async () => {
        const ta = Tensor.from(a, aShape, { dtype: half === "B" ? "f32" : "f16" });
        const tb = Tensor.from(b, bShape, { dtype: half === "A" ? "f32" : "f16" });
        const y = matmul(ta, tb, { transA, transB, bias: Tensor.from(bias, [n]) });
        assertEquals(y.dtype, "f32");
        const want = matmulReference(a, aShape, b, bShape, { transA, transB, bias });
        assertClose(`${bt}x${m}x${k}x${n} tA=${transA} tB=${transB}`, await y.toArray(), want, 1e-5, 1e-5);
      });
    }
  });
}

deviceTest("matmul through a frozen f16 weight gives the f32 input its gradient (G·W and Gᵀ layouts)", async () => {
  const rng = new Rng(9);
  for (const transB of [true, false]) {
    const [m, k, n] = [19, 70, 45];
    const bShape = transB ? [n, k] : [k, n];
    const a = Float64Array.from({ length: m * k }, () => rng.normal());
    const b = halfValues(k * n, rng, 0.1);
    const g = Float64Array.from({ length: m * n }, () => rng.normal());
    await tidyAsync(async () => {
      const ta = Tensor.from(Float32Array.from(a), [m, k], { requiresGrad: true });
      const tb = Tensor.from(b, bShape, { dtype: "f16" });
      const y = matmul(ta, tb, { transB });
      backward(y, Tensor.from(Float32Array.from(g), [m, n]));
      // fwd: Y = A·op(B)  →  dA = G·op(B)ᵀ
      const da = new Float64Array(m * k);
      for (let i = 0; i < m; i++) {
        for (let kk = 0; kk < k; kk++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += g[i * n + j] * b[transB ? j * k + kk : kk * n + j];
          da[i * k + kk] = s;
        }
      }
      assertClose(`dA transB=${transB}`, await ta.grad!.toArray(), da, 1e-5, 1e-5);
      ta.grad!.dispose();
    });
  }
});

deviceTest("f16 operands keep IEEE specials and subnormals exactly through the GEMM", async () => {
  // C = ones (m, 1) · B (1, n): every row of C is B's row, bit for bit (K = 1: no sums that mix in 0·Inf).
  const specials = [
    0,
    -0,
    2 ** -24,
    -(2 ** -24),
    3 * 2 ** -20,
    2 ** -14,
    65504,
    -65504,
    1 / 3,
    Infinity,
    -Infinity,
    NaN,
  ];
  const n = specials.length, m = 7;
  const want = fromF16Bits(toF16Bits(specials));
  for (const transB of [false, true]) {
    for (const half of ["A", "B"] as const) {
      await tidyAsync(async () => {
        // The specials on the f16 side (B, or A as a column), ones on the other.
        const y = half === "B"
          ? matmul(
            Tensor.from(new Float32Array(m).fill(1), [m, 1]),
            Tensor.from(specials, transB ? [n, 1] : [1, n], {
              dtype: "f16",
            }),
            { transB },
          )
          : matmul(Tensor.from(specials, [n, 1], { dtype: "f16" }), Tensor.from(new Float32Array(m).fill(1), [1, m]));
        const got = await y.toArray();
        for (let i = 0; i < got.length; i++) {
          const w = half === "B" ? want[i % n] : want[Math.floor(i / m)];
          // the f32 accumulator starts at +0, so −0 comes out as +0 (as in any f32 GEMM)
          if (!Object.is(got[i] + 0, w + 0) && !(Number.isNaN(got[i]) && Number.isNaN(w))) {
            throw new Error(`f16 ${half} transB=${transB}: element ${i} is ${got[i]}, expected ${w}`);
          }
        }
      });
    }
  }
});

deviceTest("embedding from f16 storage matches the f64 reference, out-of-range tensor indices read 0", async () => {
  const rng = new Rng(3);
  for (const [V, D] of [[7, 1], [50, 13], [300, 64]]) {
    const w = halfValues(V * D, rng);
    const ids = Int32Array.from({ length: 11 }, () => Math.floor(rng.next() * V));
    await tidyAsync(async () => {
      const E = Tensor.from(w, [V, D], { dtype: "f16" });
      const y = embedding(E, ids);
      assertEquals(y.dtype, "f32");
      assertClose(`embedding ${V}x${D}`, await y.toArray(), indexSelectReference(w, [V, D], 0, ids), 0, 0);
      const shifted = embedding(E, Tensor.from(Int32Array.of(-1, 0, V, V - 1), [4], { dtype: "i32" }));
      const want = new Float64Array(4 * D);
      want.set(w.subarray(0, D), D);
      want.set(w.subarray((V - 1) * D, V * D), 3 * D);
      assertClose(`out-of-range rows ${V}x${D}`, await shifted.toArray(), want, 0, 0);
    });
  }
});

deviceTest("matmul refuses integer operands with a message naming them", () => {
  const a = Tensor.from([1, 2], [1, 2], { dtype: "i32" });
  assertThrows(() => matmul(a, Tensor.from([1, 2], [2, 1])), /A must be f32 or f16, got i32/);
  a.dispose();
});
