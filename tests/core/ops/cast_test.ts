import { cast, castReference, GpuContext, Tensor } from "../../../core/runtime.ts";
import { fromF16Bits, toF16Bits } from "../../../core/tensor.ts";
import { GpuFeatureMissingError } from "../../../core/errors.ts";
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { assertClose, checkOp, deviceTest } from "./_check.ts";

Deno.test("host f16 conversion gives IEEE half bit patterns for normals, subnormals, overflow, signed zero and NaN", () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [65504, 0x7bff],
    [1e5, 0x7c00],
    [-1e5, 0xfc00],
    [2 ** -24, 0x0001],
    [2 ** -14, 0x0400],
    [0, 0x0000],
    [-0, 0x8000],
  ];
  const bits = toF16Bits(cases.map((c) => c[0]));
  assertEquals(Array.from(bits), cases.map((c) => c[1]));
  assertEquals((toF16Bits([NaN])[0] & 0x7c00) === 0x7c00 && (toF16Bits([NaN])[0] & 0x3ff) !== 0, true);
  assertEquals(Number.isNaN(fromF16Bits(Uint16Array.of(0x7e00))[0]), true);
  assertEquals(fromF16Bits(Uint16Array.of(0xfc00))[0], -Infinity);
});

Deno.test("every finite f16 value survives f16 -> f32 -> f16 on the host", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const finite = all.filter((h) => (h & 0x7c00) !== 0x7c00);
  const back = toF16Bits(fromF16Bits(finite));
  for (let i = 0; i < finite.length; i++) {
    if (back[i] !== finite[i]) throw new Error(`0x${finite[i].toString(16)} came back as 0x${back[i].toString(16)}`);
  }
});

deviceTest("f32 <-> i32 casts truncate toward zero and round-trip integers", async () => {
  await checkOp({
    name: "f32 -> i32 -> f32",
    inputs: [{ shape: [3, 7], scale: 50 }],
    run: ([x]) => cast(cast(x, "i32"), "f32"),
    reference: ([x]) => castReference(x, "i32"),
    noGrad: true,
  });
  const i = cast(Tensor.from([-2.7, -0.5, 0.5, 2.7, 1e6], [5]), "i32");
  assertEquals(i.dtype, "i32");
  assertEquals(Array.from(await i.toInt32Array()), [-2, 0, 0, 2, 1000000]);
});

deviceTest(
  "f16 casts round through half precision where the device has f16, and otherwise fail fast naming the feature",
  async (device) => {
    const x = Tensor.from([1, 0.1, -3.14159, 65504, 2 ** -20], [5]);
    // The WASM device converts in software; WebGPU needs the adapter's shader-f16.
    if (device === "wasm" || GpuContext.current().hasF16) {
      const h = cast(x, "f16");
      assertEquals(h.dtype, "f16");
      const want = castReference(Float64Array.from([1, 0.1, -3.14159, 65504, 2 ** -20]), "f16");
      assertClose("f16 values", await h.toArray(), want, 0, 0);
      assertClose("back to f32", await cast(h, "f32").toArray(), want, 0, 0);
      return;
    }
    let err: unknown = null;
    const before = GpuContext.current().stats().liveBuffers;
    try {
      cast(x, "f16");
    } catch (e) {
      err = e;
    }
    assertEquals(err instanceof GpuFeatureMissingError, true);
    assertEquals(/shader-f16/.test(String(err)), true);
    assertEquals(GpuContext.current().stats().liveBuffers, before); // nothing allocated before the check
    const h16 = Tensor.from([1, 2], [2], { dtype: "f16" }); // f16 storage itself works without the feature
    let err2: unknown = null;
    try {
      cast(h16, "f32");
    } catch (e) {
      err2 = e;
    }
    assertEquals(err2 instanceof GpuFeatureMissingError, true);
  },
);

// Exactly halfway between two f16 values: ties go to the even mantissa (torch's rounding), in normals and subnormals.
const TIES: [number, number][] = [
  [1 + 2 ** -11, 0x3c00], // between 1 and 1 + 2^-10: even is 1
  [1 + 3 * 2 ** -11, 0x3c02], // between 1 + 2^-10 and 1 + 2^-9: even is 1 + 2^-9
  [-(1 + 2 ** -11), 0xbc00],
  [2 ** -25, 0x0000], // between 0 and the smallest subnormal: even is 0
  [3 * 2 ** -25, 0x0002], // between 2^-24 and 2^-23: even is 2^-23
  [65520, 0x7c00], // halfway between 65504 and 65536 (overflow): even rounds up to Inf
  [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie: up
];

Deno.test("host f32 -> f16 rounds ties to even, like torch and core/io/half.ts", () => {
  assertEquals(Array.from(toF16Bits(TIES.map((c) => c[0]))), TIES.map((c) => c[1]));
});

// WASM only: the WGSL cast is f16(x), whose rounding is the GPU's (it needs shader-f16, which llvmpipe lacks).
deviceTest("the WASM f32 -> f16 cast rounds ties to even like the host", async () => {
  const h = cast(Tensor.from(TIES.map((c) => c[0]), [TIES.length]), "f16");
  assertEquals(Array.from(toF16Bits(await h.toArray())), TIES.map((c) => c[1]));
}, ["wasm"]);
