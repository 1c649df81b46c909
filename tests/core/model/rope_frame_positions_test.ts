/**
 * frame_positions "video" (issue 13 item 6, candidate (a)): a prompt's same-grid images share the first image's h/w
 * ids and differ in t, one temporal index per frame; the default ("images", or the key absent) is Qwen's own layout.
 */
import assert from "node:assert/strict";
import { TINY_CONFIG as C } from "../../../core/model/config.ts";
import { getRopeIndex } from "../../../core/model/rope_index.ts";

const VS = C.vision_start_token_id, VE = C.vision_end_token_id, IMG = C.image_token_id;
// text, image (2×2 merged tokens), image, text: grids (1, 4, 4) patches each
const ids = [5, VS, IMG, IMG, IMG, IMG, VE, VS, IMG, IMG, IMG, IMG, VE, 6];
const grids = [{ gridThw: [1, 4, 4] as const }, { gridThw: [1, 4, 4] as const }];

Deno.test("images layout (default): each image starts its own t, h and w at max id + 1", () => {
  for (const config of [C, { ...C, frame_positions: "images" as const }]) {
    const r = getRopeIndex(config, ids, grids);
    assert.deepEqual([...r.positionIds[0]], [0, 1, 2, 2, 2, 2, 4, 5, 6, 6, 6, 6, 8, 9]);
    assert.deepEqual([...r.positionIds[1]], [0, 1, 2, 2, 3, 3, 4, 5, 6, 6, 7, 7, 8, 9]);
    assert.deepEqual([...r.positionIds[2]], [0, 1, 2, 3, 2, 3, 4, 5, 6, 7, 6, 7, 8, 9]);
  }
});

Deno.test("video layout: the second frame reuses the first's h/w ids, gets its own later t; text continues", () => {
  const r = getRopeIndex({ ...C, frame_positions: "video" }, ids, grids);
  const [t, h, w] = r.positionIds.map((a) => [...a]);
  assert.deepEqual(t, [0, 1, 2, 2, 2, 2, 4, 5, 6, 6, 6, 6, 7, 8]);
  assert.deepEqual(h.slice(8, 12), h.slice(2, 6)); // shared h ids
  assert.deepEqual(w.slice(8, 12), w.slice(2, 6)); // shared w ids
  assert.deepEqual(h.slice(2, 6), [2, 2, 3, 3]);
  assert.deepEqual([h[12], w[12], h[13]], [7, 7, 8]); // text after the frames: max id + 1
  assert.equal(r.ropeDelta, 8 + 1 - ids.length);
});

Deno.test("video layout: an image of another grid keeps its own h/w ids", () => {
  const ids2 = [VS, IMG, IMG, IMG, IMG, VE, VS, IMG, VE];
  const r = getRopeIndex({ ...C, frame_positions: "video" }, ids2, [{ gridThw: [1, 4, 4] }, { gridThw: [1, 2, 2] }]);
  assert.deepEqual([...r.positionIds[1]], [0, 1, 1, 2, 2, 3, 4, 5, 6]);
});
