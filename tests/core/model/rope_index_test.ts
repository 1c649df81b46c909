import assert from "node:assert/strict";
import { TINY_CONFIG as C } from "../../../core/model/config.ts";
import { decodePositionIds, getRopeIndex } from "../../../core/model/rope_index.ts";

const VS = C.vision_start_token_id, VE = C.vision_end_token_id, IMG = C.image_token_id, VID = C.video_token_id;

Deno.test("M-RoPE ids on the worked example: text, image, text, video (1 s per grid step), text", () => {
  const ids = [5, 6, VS, IMG, IMG, IMG, IMG, VE, 7, VS, ...Array(8).fill(VID), VE, 8];
  const r = getRopeIndex(C, ids, [{ gridThw: [1, 4, 4] }], [{ gridThw: [2, 4, 4], secondPerGridT: 1 }]);
  assert.deepEqual([...r.positionIds[0]], [0, 1, 2, 3, 3, 3, 3, 5, 6, 7, 8, 8, 8, 8, 10, 10, 10, 10, 11, 12]);
  assert.deepEqual([...r.positionIds[1]], [0, 1, 2, 3, 3, 4, 4, 5, 6, 7, 8, 8, 9, 9, 8, 8, 9, 9, 11, 12]);
  assert.deepEqual([...r.positionIds[2]], [0, 1, 2, 3, 4, 3, 4, 5, 6, 7, 8, 9, 8, 9, 8, 9, 8, 9, 11, 12]);
  assert.equal(r.ropeDelta, -7);
});

Deno.test("video temporal ids scale with second_per_grid_t * tokens_per_second and truncate like torch .long()", () => {
  const ids = [VS, ...Array(3).fill(VID), VE];
  // grid (3, 2, 2) -> 3 temporal steps of 1 merged token; 0.75 s per step * 2 tokens/s = 1.5 -> 0, 1, 3
  const r = getRopeIndex(C, ids, [], [{ gridThw: [3, 2, 2], secondPerGridT: 0.75 }]);
  assert.deepEqual([...r.positionIds[0]], [0, 1, 2, 4, 5]);
  assert.deepEqual([...r.positionIds[1]], [0, 1, 1, 1, 5]);
  // default second_per_grid_t = 1.0 when absent
  const d = getRopeIndex(C, ids, [], [{ gridThw: [3, 2, 2] }]);
  assert.deepEqual([...d.positionIds[0]], [0, 1, 3, 5, 6]);
});

Deno.test("text-only ids are 0..T-1 in all three axes; masked tokens get 1; decode ids add rope_delta", () => {
  const r = getRopeIndex(C, [1, 2, 3, 4], [], [], [0, 1, 1, 1]);
  assert.deepEqual([...r.positionIds[0]], [1, 0, 1, 2]);
  assert.deepEqual([...r.positionIds[2]], [1, 0, 1, 2]);
  assert.equal(r.ropeDelta, -1);
  const p = decodePositionIds(20, 2, -7);
  assert.deepEqual(p.map((a) => [...a]), [[13, 14], [13, 14], [13, 14]]);
});

Deno.test("more vision blocks than grids is an error", () => {
  assert.throws(() => getRopeIndex(C, [VS, IMG, VE], [], []));
});
