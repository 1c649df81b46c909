import assert from "node:assert/strict";
import {
  drawLabel,
  LABEL_CHARS,
  LABEL_LENGTH,
  labelBoxSize,
  labelScale,
  randomLabelCode,
  readLabel,
} from "../../../core/instruct/label.ts";
import { Rng } from "../../../core/random.ts";

const gray = (w: number, h: number) => ({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(90) });

Deno.test("every label character draws and reads back at scales 1-3; the input image is left unchanged", () => {
  for (const scale of [1, 2, 3]) {
    for (let i = 0; i < LABEL_CHARS.length; i += 4) {
      const text = LABEL_CHARS.slice(i, i + 4);
      const img = gray(120, 40);
      const out = drawLabel(img, text, 3, 5, scale);
      assert.equal(readLabel(out, 3, 5, text.length, scale), text);
      assert.ok(img.data.every((v) => v === 90));
    }
  }
});

Deno.test("glyphs of different label characters differ (no two read the same)", () => {
  const seen = new Set<string>();
  for (const ch of LABEL_CHARS) {
    const out = drawLabel(gray(10, 10), ch, 0, 0, 1);
    const key = Array.from(out.data.filter((_, k) => k % 3 === 0)).join();
    assert.ok(!seen.has(key), ch);
    seen.add(key);
  }
});

Deno.test("label codes use the unambiguous characters, the box fits at 224² and a box that does not fit is refused", () => {
  const rng = new Rng(4);
  for (let i = 0; i < 50; i++) {
    const c = randomLabelCode(rng);
    assert.equal(c.length, LABEL_LENGTH);
    assert.ok([...c].every((ch) => LABEL_CHARS.includes(ch)));
  }
  assert.ok(!/[0O1I5S8B2Z]/.test(LABEL_CHARS));
  assert.equal(labelScale(224), 2);
  assert.equal(labelScale(448), 4);
  assert.equal(labelScale(56), 1);
  assert.deepEqual(labelBoxSize("AB", 2), { width: 26, height: 18 });
  assert.throws(() => drawLabel(gray(20, 20), "AB", 0, 0, 2), RangeError);
  assert.throws(() => drawLabel(gray(40, 40), "AB", -1, 0, 1), RangeError);
});
