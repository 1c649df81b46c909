/**
 * deno task bench:svd — the correspondence-head init's SVD of W_Q (Sec 4.1): the exact f64 Jacobi SVD (train/svd.ts)
 * against the randomized top-k SVD (core/linalg/randomized_svd.ts) on the same matrices, k = d/4 (app-b's kept
 * directions), with the ratio measured in the same run and the captured energy ‖U_kᵀ W‖²_F relative to Jacobi's.
 * Jacobi runs only up to 512 (it grows as d³: ~4 s at 512², minutes at 2048²); above, the randomized time alone.
 * The randomized SVD runs twice: products in f64 TypeScript, and on the WASM SIMD GEMM (f32; what training uses).
 */
import { defineCommand, flag, runCommand } from "../core/cli.ts";
import { randomizedSvd } from "../core/linalg/randomized_svd.ts";
import { Rng } from "../core/random.ts";
import { svd } from "../train/svd.ts";
import { wasmGemm } from "../core/linalg/gemm.ts";
import { initWasm } from "../core/device_init.ts";

const cmd = defineCommand({
  name: "bench:svd",
  summary: "Head-init SVD of W_Q: f64 Jacobi vs randomized top-k (time ratio, captured energy).",
  flags: {
    sizes: flag.string("square widths d to time, comma-separated", { default: "256,512,2048", placeholder: "LIST" }),
  },
});

await runCommand(cmd, Deno.args, async (a) => {
  const sizes = a.sizes.split(",").map((s) => Number(s.trim()));
  await initWasm();
  const gemm = wasmGemm()!;
  console.log(
    "d      k     jacobi s   randomized s   ratio    energy vs jacobi   +wasm gemm s   ratio   energy vs f64",
  );
  for (const d of sizes) {
    const rng = new Rng(d);
    // A trained-projection-like spectrum: Gaussian entries (flat bulk) plus a decaying low-rank part.
    const data = new Float64Array(d * d);
    for (let i = 0; i < data.length; i++) data[i] = 0.02 * rng.normal();
    const r = 16, u = Float64Array.from({ length: d * r }, () => rng.normal()), v = u.map(() => rng.normal());
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let t = 0; t < r; t++) s += u[i * r + t] * v[j * r + t] * 0.9 ** t;
        data[i * d + j] += s / d;
      }
    }
    const a = { rows: d, cols: d, data };
    const k = d / 4;
    let t = performance.now();
    const rs = randomizedSvd(a, { rank: k, seed: 0 });
    const tr = (performance.now() - t) / 1000;
    const energy = (s: Float64Array) => s.subarray(0, k).reduce((x, y) => x + y * y, 0);
    t = performance.now();
    const rg = randomizedSvd(a, { rank: k, seed: 0, gemm });
    const tg = (performance.now() - t) / 1000;
    const gemmCols = `   ${tg.toFixed(2).padStart(12)}  ${(tr / tg).toFixed(1).padStart(5)}x  ${
      (energy(rg.S) / energy(rs.S)).toFixed(6).padStart(10)
    }`;
    let line = `${String(d).padEnd(6)} ${String(k).padEnd(5)} `;
    if (d <= 512) {
      t = performance.now();
      const js = svd(a);
      const tj = (performance.now() - t) / 1000;
      line += `${tj.toFixed(2).padStart(9)}  ${tr.toFixed(2).padStart(12)}  ${(tj / tr).toFixed(1).padStart(6)}x  ` +
        `${(energy(rs.S) / energy(js.S)).toFixed(6).padStart(10)}`;
    } else {
      line += `${"-".padStart(9)}  ${tr.toFixed(2).padStart(12)}  ${"-".padStart(7)}  ${"-".padStart(10)}`;
    }
    console.log(line + "      " + gemmCols);
  }
  console.log("(times on this machine, shared: compare the ratio, not the absolute seconds)");
});
