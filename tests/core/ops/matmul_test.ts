import { backward, matmul, matmulReference, Rng, Tensor, tidyAsync } from "../../../core/runtime.ts";
import { assertClose, checkOp, deviceTest } from "./_check.ts";

const sizes: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 1],
  [3, 5, 4],
  [9, 13, 17],
  [65, 3, 70],
  [16, 32, 8],
];

for (const transA of [false, true]) {
  for (const transB of [false, true]) {
    deviceTest(`matmul transA=${transA} transB=${transB} matches f64 reference and finite differences`, async () => {
      for (const [m, k, n] of sizes) {
        const aShape = transA ? [k, m] : [m, k];
        const bShape = transB ? [n, k] : [k, n];
        await checkOp({
          name: `matmul ${m}x${k}x${n}`,
          inputs: [{ shape: aShape }, { shape: bShape }],
          run: ([a, b]) => matmul(a, b, { transA, transB }),
          reference: ([a, b]) => matmulReference(a, aShape, b, bShape, { transA, transB }),
          rtol: 1e-4,
          atol: 1e-4,
        });
      }
    });
  }
}

deviceTest("batched matmul with a shared 2-D weight and fused bias matches reference and gradients", async () => {
  for (const transB of [false, true]) {
    const [bt, m, k, n] = [3, 5, 6, 7];
    const bShape = transB ? [n, k] : [k, n];
    await checkOp({
      name: `linear transB=${transB}`,
      inputs: [{ shape: [bt, m, k] }, { shape: bShape }, { shape: [n] }],
      run: ([a, b, bias]) => matmul(a, b, { transB, bias }),
      reference: ([a, b, bias]) => matmulReference(a, [bt, m, k], b, bShape, { transB, bias }),
      rtol: 1e-4,
      atol: 1e-4,
    });
  }
});

deviceTest("batched matmul with batched operands on both sides", async () => {
  await checkOp({
    name: "bmm",
    inputs: [{ shape: [2, 3, 4, 5] }, { shape: [2, 3, 5, 6] }],
    run: ([a, b]) => matmul(a, b),
    reference: ([a, b]) => matmulReference(a, [2, 3, 4, 5], b, [2, 3, 5, 6]),
    rtol: 1e-4,
    atol: 1e-4,
  });
});

// Shapes past the WASM GEMM's blocking (MR = 6, NR = 8, KC = 256, MC = 120): edge strips in M and N, two K slices
// (the second accumulates into C; the bias goes in once), transposes, a batch. Gradients against the analytic f64
// rules (finite differences over ~40k inputs would take minutes).
deviceTest("matmul on shapes past the tile, KC and MC sizes matches f64 forward and analytic gradients", async () => {
  const rng = new Rng(11);
  const rand = (n: number) => Float64Array.from({ length: n }, () => rng.normal());
  for (
    const [bt, m, k, n, transA, transB] of [
      [1, 127, 300, 37, false, false],
      [1, 61, 513, 9, true, false],
      [2, 13, 260, 130, false, true],
      [1, 250, 7, 17, true, true],
    ] as [number, number, number, number, boolean, boolean][]
  ) {
    const aShape = [...(bt > 1 ? [bt] : []), ...(transA ? [k, m] : [m, k])];
    const bShape = transB ? [n, k] : [k, n];
    const a = rand(bt * m * k), b = rand(k * n), bias = rand(n), g = rand(bt * m * n);
    const name = `${bt}x${m}x${k}x${n} tA=${transA} tB=${transB}`;
    await tidyAsync(async () => {
      const ta = Tensor.from(Float32Array.from(a), aShape, { requiresGrad: true });
      const tb = Tensor.from(Float32Array.from(b), bShape, { requiresGrad: true });
      const tbias = Tensor.from(Float32Array.from(bias), [n], { requiresGrad: true });
      const y = matmul(ta, tb, { transA, transB, bias: tbias });
      const want = matmulReference(a, aShape, b, bShape, { transA, transB, bias });
      assertClose(`${name} forward`, await y.toArray(), want, 1e-4, 1e-4);
      backward(y, Tensor.from(Float32Array.from(g), y.shape));
      // C = op(A)·op(B) + bias, per batch: dop(A) = G·op(B)ᵀ, dop(B) = Σ_batch op(A)ᵀ·G, dbias = Σ rows of G
      const opA = (i: number, kk: number, t: number) => a[t * m * k + (transA ? kk * m + i : i * k + kk)];
      const opB = (kk: number, j: number) => b[transB ? j * k + kk : kk * n + j];
      const da = new Float64Array(a.length), db = new Float64Array(b.length), dbias = new Float64Array(n);
      for (let t = 0; t < bt; t++) {
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            const gij = g[(t * m + i) * n + j];
            dbias[j] += gij;
            for (let kk = 0; kk < k; kk++) {
              da[t * m * k + (transA ? kk * m + i : i * k + kk)] += gij * opB(kk, j);
              db[transB ? j * k + kk : kk * n + j] += gij * opA(i, kk, t);
            }
          }
        }
      }
      assertClose(`${name} dA`, await ta.grad!.toArray(), da, 1e-4, 1e-3);
      assertClose(`${name} dB`, await tb.grad!.toArray(), db, 1e-4, 1e-3);
      assertClose(`${name} dbias`, await tbias.grad!.toArray(), dbias, 1e-4, 1e-3);
      for (const t of [ta, tb, tbias]) t.grad!.dispose();
    });
  }
});
