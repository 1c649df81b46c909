import assert from "node:assert/strict";
import { TINY_CONFIG as C } from "../../../core/model/config.ts";
import {
  inversePermutation,
  permuteUnits,
  segmentBias,
  visionCuSeqlens,
  visionRotaryCosSin,
  visionRotaryPositions,
  visionWindowIndex,
} from "../../../core/model/vision_windows.ts";

Deno.test("window index of a 112² image: 2×2-unit windows in raster order (doc example)", () => {
  const { windowIndex, cuWindowSeqlens } = visionWindowIndex(C, [[1, 8, 8]]);
  assert.deepEqual([...windowIndex], [0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]);
  assert.deepEqual(cuWindowSeqlens, [0, 16, 32, 48, 64]);
  assert.deepEqual(visionCuSeqlens([[1, 8, 8]]), [0, 64]);
});

Deno.test("224² image splits into 16 windows; ragged 3×5-unit grid pads with partial windows", () => {
  const a = visionWindowIndex(C, [[1, 16, 16]]);
  assert.equal(a.cuWindowSeqlens.length, 17);
  // grid 6×10 patches = 3×5 units: windows rows [0,1],[2]; cols [0,1],[2,3],[4] -> sizes 4,4,2,2,2,1 units
  const b = visionWindowIndex(C, [[1, 6, 10]]);
  assert.deepEqual(b.cuWindowSeqlens, [0, 16, 32, 40, 48, 56, 60]);
  assert.deepEqual([...b.windowIndex], [0, 1, 5, 6, 2, 3, 7, 8, 4, 9, 10, 11, 12, 13, 14]);
});

Deno.test("two grids (image then 2-frame video) offset unit ids and full attention is per frame", () => {
  const w = visionWindowIndex(C, [[1, 4, 4], [2, 4, 4]]);
  assert.deepEqual([...w.windowIndex], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.deepEqual(w.cuWindowSeqlens, [0, 16, 32, 48]);
  assert.deepEqual(visionCuSeqlens([[1, 4, 4], [2, 4, 4]]), [0, 16, 32, 48]);
});

Deno.test("vision rotary positions follow merge-unit order and cos/sin use [h, w] frequency halves", () => {
  const pos = visionRotaryPositions([[1, 4, 4]], 2);
  // unit (0,0): (0,0) (0,1) (1,0) (1,1); unit (0,1): (0,2) (0,3) (1,2) (1,3)
  assert.deepEqual([...pos.slice(0, 16)], [0, 0, 0, 1, 1, 0, 1, 1, 0, 2, 0, 3, 1, 2, 1, 3]);
  const { cos, sin } = visionRotaryCosSin(C, [[1, 4, 4]]);
  const D = 32;
  const p = 6; // patch (1, 2)
  assert.ok(Math.abs(cos[p * D + 0] - Math.cos(1)) < 1e-12); // h * inv_freq[0] = 1
  assert.ok(Math.abs(sin[p * D + 8] - Math.sin(2)) < 1e-12); // w * inv_freq[0] = 2
  assert.ok(Math.abs(cos[p * D + 16 + 9] - Math.cos(2 / Math.pow(10000, 2 / 16))) < 1e-12);
});

Deno.test("permuteUnits and its inverse round-trip; segment bias masks across segments", () => {
  const x = Float32Array.from({ length: 24 }, (_, i) => i);
  const idx = Int32Array.from([2, 0, 1]);
  const y = permuteUnits(x, idx, 4, 2);
  assert.deepEqual([...y.slice(0, 8)], [16, 17, 18, 19, 20, 21, 22, 23]);
  assert.deepEqual(permuteUnits(y, inversePermutation(idx), 4, 2), x);
  const b = segmentBias([0, 1, 3]);
  assert.deepEqual([...b], [0, -1e9, -1e9, -1e9, 0, 0, -1e9, 0, 0]);
});
