import assert from "node:assert/strict";
import type { Track } from "../../core/scene/types.ts";
import { correspondencePairs } from "../../train/correspondence_pairs.ts";

Deno.test("correspondencePairs pairs each track's anchor frame with every frame where it is visible", () => {
  const track = (anchorFrame: number, depths: (number | null)[]): Track => ({
    anchorFrame,
    points: depths.map(() => [0, 0] as [number, number]),
    visible: depths.map((d) => d !== null),
    depths,
  });
  const seq = {
    frames: new Array(3).fill(null) as never[],
    tracks: [track(0, [1, 2, null]), track(0, [1.5, 2.5, 3.5]), track(0, [null, 1, 1])],
    // targetPatch[t * F + f]
    targetPatch: Int32Array.from([4, 5, -1, 0, 1, 2, -1, 3, 3]),
  };
  const pairs = correspondencePairs(seq);
  assert.deepEqual(pairs, [
    { anchorFrame: 0, anchorPatch: 4, targetFrame: 1, targetPatch: 5, targetDepth: 2 },
    { anchorFrame: 0, anchorPatch: 0, targetFrame: 1, targetPatch: 1, targetDepth: 2.5 },
    { anchorFrame: 0, anchorPatch: 0, targetFrame: 2, targetPatch: 2, targetDepth: 3.5 },
  ]);
});
