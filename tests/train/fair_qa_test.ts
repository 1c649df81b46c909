import assert from "node:assert/strict";
import { Rng } from "../../core/random.ts";
import type { CorrespondenceSequence, Frame, Track } from "../../core/scene/types.ts";
import { CHOICE_QUESTION, COORDS_QUESTION, drawPointMarks, fairCorrespondenceQa } from "../../train/fair_qa.ts";

function frame(): Frame {
  return {
    width: 224,
    height: 224,
    K: [[100, 0, 112], [0, 100, 112], [0, 0, 1]],
    worldToCamera: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]],
    rgb: new Uint8Array(224 * 224 * 3),
    depth: new Float32Array(224 * 224),
  };
}

function sequence(): CorrespondenceSequence {
  const tracks: Track[] = [
    {
      anchorFrame: 0,
      points: [[20.5, 30.5], [40.2, 31.7], null],
      visible: [true, true, false],
      depths: [2, 2.1, null],
    },
    { anchorFrame: 0, points: [[100, 100], [120, 90], [130, 80]], visible: [true, true, true], depths: [3, 3, 3] },
    { anchorFrame: 0, points: [[200, 10], null, [180, 20]], visible: [true, false, true], depths: [4, null, 4] },
  ];
  return {
    id: "seq-1",
    sceneId: "scene-1",
    frameIndices: [0, 5, 9],
    frames: [frame(), frame(), frame()],
    grid: { rows: 8, cols: 8, patchSize: 28 },
    tracks,
    targetPatch: new Int32Array(9),
    patchDepth: new Float32Array(3 * 64),
    negatives: [[null, [90, 60], null], [null, [160, 150], [60, 60]], [null, null, [100, 200]]],
  };
}

Deno.test("fair QA poses each correspondence as a labeled-point choice whose answer letter marks the true point", () => {
  const seq = sequence();
  const qa = fairCorrespondenceQa(seq, { rng: new Rng(5) });
  const choice = qa.filter((r) => r.kind === "corr-choice");
  assert.equal(choice.length, 3, "one question per track");
  for (const r of choice) {
    const [a, b] = r.images;
    const truth = seq.tracks[r.track].points[b]!;
    assert.equal(a, 0);
    const answer = r.conversations[1].value;
    const mark = r.marks.find((m) => m.image === 1 && m.label === answer)!;
    assert.deepEqual(mark.xy, truth);
    const options = r.marks.filter((m) => m.image === 1);
    assert.equal(options.length, 4);
    for (let i = 0; i < 4; i++) {
      for (let j = i + 1; j < 4; j++) {
        assert(Math.hypot(options[i].xy[0] - options[j].xy[0], options[i].xy[1] - options[j].xy[1]) >= 28);
      }
    }
    const q = r.conversations[0].value;
    assert(q.startsWith("<image>\n<image>\n") && q.endsWith(CHOICE_QUESTION));
    assert(q.includes(`(${answer}) [${Math.round(truth[0])}, ${Math.round(truth[1])}]`));
  }
});

Deno.test("fair QA coordinate questions answer the rounded [x, y] of the track in Image-2", () => {
  const seq = sequence();
  const qa = fairCorrespondenceQa(seq, { rng: new Rng(6) });
  const t0 = qa.find((r) => r.kind === "corr-coords" && r.track === 0)!;
  assert.deepEqual(t0.images, [0, 1]);
  assert.equal(
    t0.conversations[0].value,
    `<image>\n<image>\nThe marked location in Image-1 is at [21, 31]. ${COORDS_QUESTION}`,
  );
  assert.equal(t0.conversations[1].value, "[40, 32]");
  assert.deepEqual(fairCorrespondenceQa(seq, { rng: new Rng(6) }), qa, "seeded");
});

Deno.test("drawPointMarks paints a disc at the mark and leaves the input untouched", () => {
  const rgb = new Uint8Array(10 * 10 * 3);
  const out = drawPointMarks(rgb, 10, 10, [{ xy: [5, 5], rgb: [255, 0, 0] }], 2);
  assert.deepEqual(Array.from(out.subarray((5 * 10 + 5) * 3, (5 * 10 + 5) * 3 + 3)), [255, 0, 0]);
  assert.deepEqual(Array.from(out.subarray(0, 3)), [0, 0, 0]);
  assert(rgb.every((v) => v === 0));
});
