import {
  argmax,
  crossEntropy,
  crossEntropyReference,
  l2Normalize,
  l2NormalizeReference,
  layerNorm,
  logSoftmax,
  normReference,
  softmaxReference,
  topkReference,
} from "../../../core/runtime.ts";
import { setRowWorkgroupSize } from "../../../core/gpu/rows.ts";
import { checkOp, deviceTest } from "./_check.ts";

// The WGSL row kernels pick a workgroup size per adapter class (4 on llvmpipe); run them with the GPU-class sizes too
// (the WASM kernels have no workgroups: one case checks them on the same inputs).
for (const wg of [2, 32, 256]) {
  deviceTest(`row kernels match their references with ${wg} invocations per row`, async () => {
    setRowWorkgroupSize(wg);
    try {
      const mask = [1, 0, 1, 0, 0, 0]; // (2, 3, 1): fully masked rows included
      await checkOp({
        name: `logSoftmax wg ${wg}`,
        inputs: [{ shape: [2, 3, 130], scale: 3 }, { shape: [2, 3, 1], data: mask, grad: false }],
        run: ([x, m]) => logSoftmax(x, { mask: m }),
        reference: ([x, m]) => softmaxReference(x, [2, 3, 130], { mask: m, maskShape: [2, 3, 1], log: true }),
        rtol: 1e-4,
        atol: 1e-5,
      });
      await checkOp({
        name: `layerNorm wg ${wg}`,
        inputs: [{ shape: [3, 257], offset: 2 }, { shape: [257] }, { shape: [257] }],
        run: ([x, w, b]) => layerNorm(x, w, b),
        reference: ([x, w, b]) => normReference("layerNorm", x, 257, w, b, 1e-5),
        rtol: 1e-4,
        atol: 1e-4,
      });
      const t = Int32Array.from([3, -100, 299]);
      await checkOp({
        name: `crossEntropy wg ${wg}`,
        inputs: [{ shape: [3, 300], scale: 2 }],
        run: ([x]) => crossEntropy(x, t),
        reference: ([x]) => crossEntropyReference(x, 300, t),
        rtol: 1e-4,
        atol: 1e-5,
      });
      await checkOp({
        name: `l2Normalize wg ${wg}`,
        inputs: [{ shape: [5, 65, 3] }],
        run: ([x]) => l2Normalize(x, 1),
        reference: ([x]) => l2NormalizeReference(x, [5, 65, 3], 1),
        rtol: 1e-4,
        atol: 1e-5,
      });
      const levels = Array.from({ length: 3 * 257 }, (_, i) => (i * 37) % 11);
      await checkOp({
        name: `argmax wg ${wg}`,
        inputs: [{ shape: [3, 257], data: levels }],
        run: ([x]) => argmax(x), // i32, read back as floats by checkOp
        reference: ([x]) => Float64Array.from(topkReference(x, 257, 1).indices),
        noGrad: true,
        rtol: 0,
        atol: 0,
      });
    } finally {
      setRowWorkgroupSize(null);
    }
  }, wg === 2 ? ["webgpu", "wasm"] : ["webgpu"]);
}

// With the default (adapter-chosen) workgroup size: on llvmpipe a 100k-long row with 4 invocations per row needs
// 25k strided iterations per pass, past gallivm's 65535-iteration loop limit over the kernel's passes; rows.ts sizes
// the workgroup so each pass stays under CPU_ROW_ITERS.
deviceTest("row kernels stay exact on 100k-long rows with the default workgroup size", async () => {
  const len = 100_003;
  await checkOp({
    name: "logSoftmax long row",
    inputs: [{ shape: [2, len], scale: 3 }],
    run: ([x]) => logSoftmax(x),
    reference: ([x]) => softmaxReference(x, [2, len], { log: true }),
    noGrad: true,
    rtol: 1e-4,
    atol: 1e-4,
  });
  const t = Int32Array.from([7, len - 1]);
  await checkOp({
    name: "crossEntropy long row",
    inputs: [{ shape: [2, len], scale: 2 }],
    run: ([x]) => crossEntropy(x, t),
    reference: ([x]) => crossEntropyReference(x, len, t),
    noGrad: true,
    rtol: 1e-4,
    atol: 1e-4,
  });
});
