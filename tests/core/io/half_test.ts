import assert from "node:assert/strict";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../../../core/io/half.ts";
import { Rng } from "../../../core/random.ts";

const h = (x: number) => f32ToF16([x])[0];
const b = (x: number) => f32ToBf16([x])[0];

Deno.test("f16: every bit pattern widens exactly and narrows back to itself (NaNs stay NaN)", () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const wide = f16ToF32(all);
  const back = f32ToF16(wide);
  for (let i = 0; i < 65536; i++) {
    const isNan = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
    if (isNan) assert(Number.isNaN(wide[i]) && (back[i] & 0x7c00) === 0x7c00 && (back[i] & 0x3ff) !== 0);
    else assert.equal(back[i], i, `pattern ${i.toString(16)}`);
  }
  assert.equal(wide[0x3c00], 1);
  assert.equal(wide[0x7bff], 65504);
  assert.equal(wide[0x0001], 2 ** -24);
  assert.equal(wide[0x8400], -(2 ** -14));
  assert.equal(wide[0xfc00], -Infinity);
});

Deno.test("f16: f32 → f16 rounds to nearest, ties to even, through subnormals and overflow", () => {
  assert.equal(h(1 + 2 ** -11), 0x3c00, "tie rounds down to even");
  assert.equal(h(1 + 3 * 2 ** -11), 0x3c02, "tie rounds up to even");
  assert.equal(h(65519), 0x7bff);
  assert.equal(h(65520), 0x7c00, "halfway to 65536 rounds to even = Inf");
  assert.equal(h(2 ** -25), 0, "half the smallest subnormal ties to 0");
  assert.equal(h(3 * 2 ** -26), 1);
  assert.equal(h(-(2 ** -30)), 0x8000, "tiny negatives keep their sign");
  assert.equal(h(2 ** -14 - 2 ** -25), 0x0400, "largest subnormal + half rounds up into the normals");
  assert.equal(h(NaN) & 0x7e00, 0x7e00);
  // Random magnitudes across the whole range: the result is a nearest f16.
  const rng = new Rng(3);
  const all = f16ToF32(Uint16Array.from({ length: 65536 }, (_, i) => i));
  for (let i = 0; i < 20000; i++) {
    const x = Math.fround((rng.next() < 0.5 ? -1 : 1) * 2 ** (-26 + 42 * rng.next()));
    const r = h(x);
    if (Math.abs(x) >= 65520) {
      assert.equal(r & 0x7fff, 0x7c00, `x=${x} overflows to Inf (IEEE round to nearest)`);
      continue;
    }
    const err = Math.abs(all[r] - x);
    for (const n of [r - 1, r + 1]) {
      if (n < 0 || n > 65535 || (n & 0x7c00) === 0x7c00 || (n & 0x8000) !== (r & 0x8000)) continue;
      assert(err <= Math.abs(all[n] - x), `x=${x}: ${r} not nearest (neighbour ${n})`);
    }
  }
});

Deno.test("bf16: upper half of f32, round to nearest even, exact widening", () => {
  assert.equal(b(1), 0x3f80);
  assert.equal(b(1 + 2 ** -8), 0x3f80, "tie to even (down)");
  assert.equal(b(1 + 3 * 2 ** -8), 0x3f82, "tie to even (up)");
  assert.equal(b(1 + 2 ** -8 + 2 ** -20), 0x3f81, "above the tie rounds up");
  assert.equal(b(-Infinity), 0xff80);
  assert(Number.isNaN(bf16ToF32(Uint16Array.of(b(NaN)))[0]));
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const back = f32ToBf16(bf16ToF32(all));
  for (let i = 0; i < 65536; i++) {
    const isNan = (i & 0x7f80) === 0x7f80 && (i & 0x7f) !== 0;
    if (!isNan) assert.equal(back[i], i);
  }
});
