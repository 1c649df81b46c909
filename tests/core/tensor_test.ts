import assert from "node:assert/strict";
import { fromF16Bits, toF16Bits } from "../../core/tensor.ts";
import {
  add,
  type Device,
  GpuContext,
  keep,
  matmul,
  Tensor,
  tidy,
  toDevice,
  WasmRuntime,
  withDevice,
} from "../../core/runtime.ts";
import { DeviceMismatchError } from "../../core/errors.ts";
import { deviceTest, initDevices } from "./ops/_check.ts";

/** Live allocations of a device's pool (GPU buffers, or WASM heap ranges). */
function live(device: Device): number {
  return device === "wasm" ? WasmRuntime.current().stats().live : GpuContext.current().stats().liveBuffers;
}

Deno.test("f16 conversion rounds to nearest and carries into the exponent", () => {
  assert.equal(toF16Bits([2047.9])[0], 0x6800); // rounds up to 2048 (exponent carry)
  assert.equal(toF16Bits([1.0])[0], 0x3c00);
  assert.equal(toF16Bits([-2.0])[0], 0xc000);
  assert.equal(toF16Bits([65520])[0], 0x7c00); // rounds past the largest finite half → inf
  assert.equal(toF16Bits([5.960464477539063e-8])[0], 0x0001); // smallest subnormal
  for (const v of [0.1, 3.14159, 1000.5, -0.0001, 65504]) {
    const back = fromF16Bits(toF16Bits([v]))[0];
    assert.ok(Math.abs(back - v) <= Math.abs(v) * 2 ** -11, `${v} -> ${back}`);
  }
});

deviceTest("tidy disposes what it does not return and keep() survives", async (device) => {
  const before = live(device);
  let kept: Tensor | null = null;
  const out = tidy(() => {
    const a = Tensor.from([1, 2, 3], [3]);
    kept = keep(Tensor.from([4], [1]));
    Tensor.from([5, 6], [2]);
    return a;
  });
  assert.equal(out.device, device);
  assert.equal(live(device), before + 2);
  assert.deepEqual(Array.from(await out.toArray()), [1, 2, 3]);
  out.dispose();
  kept!.dispose();
  assert.equal(live(device), before);
});

deviceTest("views share storage and free it when the last owner is disposed", async (device) => {
  const before = live(device);
  const a = Tensor.from([1, 2, 3, 4], [2, 2]);
  const v = a.view([4]);
  a.dispose();
  assert.deepEqual(Array.from(await v.toArray()), [1, 2, 3, 4]);
  assert.equal(live(device), before + 1);
  v.dispose();
  assert.equal(live(device), before);
  assert.throws(() => v.storage, /disposed/);
});

deviceTest("write replaces a tensor's contents in place, after the ops issued before it", async () => {
  const t = Tensor.from([1, 2, 3], [3]);
  const y = add(t, t);
  t.write([10, 20, 30]);
  assert.deepEqual(Array.from(await y.toArray()), [2, 4, 6]);
  assert.deepEqual(Array.from(await t.toArray()), [10, 20, 30]);
  assert.throws(() => t.write([1]), /3 elements/);
  for (const x of [t, y]) x.dispose();
});

Deno.test("an op on tensors of two devices throws DeviceMismatchError naming both; toDevice copies across", async () => {
  await initDevices();
  const g = withDevice("webgpu", () => Tensor.from([1, 2, 3, 4], [2, 2], { name: "gpuA" }));
  const w = withDevice("wasm", () => Tensor.from([1, 0, 0, 1], [2, 2], { name: "cpuB" }));
  assert.throws(() => matmul(g, w), (e: unknown) => {
    assert.ok(e instanceof DeviceMismatchError);
    assert.match(String(e), /matmul: tensors on different devices: gpuA \[2,2\] on webgpu and cpuB \[2,2\] on wasm/);
    return true;
  });
  assert.throws(() => g.ptr, DeviceMismatchError);
  assert.throws(() => w.buffer, DeviceMismatchError);
  const moved = await toDevice(g, "wasm");
  assert.equal(moved.device, "wasm");
  assert.deepEqual(Array.from(await withDevice("wasm", () => matmul(moved, w)).toArray()), [1, 2, 3, 4]);
  const ids = withDevice("wasm", () => Tensor.from([7, -3, 2 ** 30], [3], { dtype: "i32" }));
  const idsGpu = await toDevice(ids, "webgpu");
  assert.equal(idsGpu.dtype, "i32");
  assert.deepEqual(Array.from(await idsGpu.toInt32Array()), [7, -3, 2 ** 30]);
  for (const t of [g, w, moved, ids, idsGpu]) t.dispose();
});

Deno.test("the WASM heap reuses freed ranges: a loop of same-shaped tensors does not grow the memory", async () => {
  await initDevices();
  await withDevice("wasm", () => {
    const rt = WasmRuntime.current();
    const step = () => tidy(() => void matmul(Tensor.zeros([64, 96]), Tensor.zeros([96, 80])));
    step();
    const reserved = rt.stats().reservedBytes, liveBefore = rt.stats().live;
    for (let i = 0; i < 20; i++) step();
    assert.equal(rt.stats().reservedBytes, reserved, "no new memory after the first step");
    assert.equal(rt.stats().live, liveBefore);
  });
});
