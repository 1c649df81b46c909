import assert from "node:assert/strict";
import { fromF16Bits, toF16Bits } from "../../core/tensor.ts";
import { initGpu, keep, Tensor, tidy } from "../../core/runtime.ts";

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

Deno.test("tidy disposes what it does not return and keep() survives", async () => {
  const ctx = await initGpu();
  const before = ctx.stats().liveBuffers;
  let kept: Tensor | null = null;
  const out = tidy(() => {
    const a = Tensor.from([1, 2, 3], [3]);
    kept = keep(Tensor.from([4], [1]));
    Tensor.from([5, 6], [2]);
    return a;
  });
  assert.equal(ctx.stats().liveBuffers, before + 2);
  assert.deepEqual(Array.from(await out.toArray()), [1, 2, 3]);
  out.dispose();
  kept!.dispose();
  assert.equal(ctx.stats().liveBuffers, before);
});

Deno.test("views share storage and free it when the last owner is disposed", async () => {
  const ctx = await initGpu();
  const before = ctx.stats().liveBuffers;
  const a = Tensor.from([1, 2, 3, 4], [2, 2]);
  const v = a.view([4]);
  a.dispose();
  assert.deepEqual(Array.from(await v.toArray()), [1, 2, 3, 4]);
  assert.equal(ctx.stats().liveBuffers, before + 1);
  v.dispose();
  assert.equal(ctx.stats().liveBuffers, before);
  assert.throws(() => v.buffer, /disposed/);
});
