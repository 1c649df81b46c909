import assert from "node:assert/strict";
import { Rng } from "../../core/random.ts";
import type { Frame, SceneDescription } from "../../core/scene/types.ts";
import { caption, generalQa, type GeneralQaRecord, plural, sceneObjects } from "../../train/qa.ts";

const SCENE: SceneDescription = {
  id: "scene-7",
  seed: 7,
  roomSize: [6, 3, 8],
  up: [0, -1, 0],
  objects: [
    { id: 0, shape: "plane", name: "floor", color: "gray", center: [0, 1, 4], size: [6, 0, 8] },
    { id: 1, shape: "box", name: "red box", color: "red", center: [1, 0.5, 3], size: [0.5, 0.5, 0.5] },
    { id: 2, shape: "sphere", name: "blue sphere", color: "blue", center: [-1, 0.5, 5], size: [0.6, 0.6, 0.6] },
    { id: 3, shape: "cylinder", name: "green cylinder", color: "green", center: [0, 0.5, 4], size: [0.4, 1, 0.4] },
    { id: 4, shape: "cylinder", name: "green cylinder", color: "green", center: [0.5, 0.5, 6], size: [0.4, 1, 0.4] },
  ],
};

const VIEW: Pick<Frame, "worldToCamera" | "K" | "width" | "height"> = {
  width: 224,
  height: 224,
  K: [[100, 0, 112], [0, 100, 112], [0, 0, 1]],
  worldToCamera: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]],
};

function answerOf(qa: GeneralQaRecord[], question: string): string | undefined {
  return qa.find((r) => r.conversations[0].value === `<image>\n${question}`)?.conversations[1].value;
}

Deno.test("general QA answers counts, colours, nearer-to-camera and captions exactly from the scene", () => {
  const qa = generalQa(SCENE, { frame: VIEW, frameIndex: 2, rng: new Rng(1) });
  assert.equal(answerOf(qa, "How many objects are in the room?"), "4"); // the floor plane is scenery
  assert.equal(answerOf(qa, "How many boxes are there?"), "1");
  assert.equal(answerOf(qa, "How many cylinders are there?"), "2");
  assert.equal(answerOf(qa, "How many green objects are there?"), "2");
  assert.equal(answerOf(qa, "What color is the box?"), "red");
  assert.equal(answerOf(qa, "What color is the sphere?"), "blue");
  assert.equal(answerOf(qa, "What color is the cylinder?"), undefined, "ambiguous: two cylinders");
  const nearer = qa.filter((r) => r.kind === "nearer");
  assert.equal(nearer.length, 1, "only the uniquely named, visible pair");
  assert.equal(nearer[0].conversations[1].value, "red box");
  assert.equal(nearer[0].frameIndex, 2);
  assert.equal(
    answerOf(qa, "Describe the scene in one sentence."),
    "A room with a red box, a blue sphere and two green cylinders.",
  );
});

Deno.test("general QA records use the LLaVA-Video-178K conversation format and are seeded", () => {
  const a = generalQa(SCENE, { frame: VIEW, rng: new Rng(3) });
  const b = generalQa(SCENE, { frame: VIEW, rng: new Rng(3) });
  assert.deepEqual(a, b);
  for (const r of a) {
    assert.equal(r.conversations.length, 2);
    assert.equal(r.conversations[0].from, "human");
    assert(r.conversations[0].value.startsWith("<image>\n"));
    assert.equal(r.conversations[1].from, "gpt");
    assert.equal(JSON.parse(JSON.stringify(r)).conversations[1].value, r.conversations[1].value);
  }
  assert.equal(new Set(a.map((r) => r.id)).size, a.length, "unique ids");
  assert.equal(generalQa(SCENE, { rng: new Rng(3), max: 3 }).length, 3);
  assert.equal(
    generalQa(SCENE, { rng: new Rng(3) }).filter((r) => r.kind === "nearer").length,
    0,
    "no view, no nearer",
  );
});

Deno.test("nearer questions flip their answer when the camera turns around, and skip near-ties", () => {
  const back: typeof VIEW = { ...VIEW, worldToCamera: [[-1, 0, 0, 0], [0, 1, 0, 0], [0, 0, -1, 8]] };
  const qa = generalQa(SCENE, { frame: back, rng: new Rng(2) }).filter((r) => r.kind === "nearer");
  assert.equal(qa.length, 1);
  assert.equal(qa[0].conversations[1].value, "blue sphere");
  const tie: SceneDescription = {
    ...SCENE,
    objects: [SCENE.objects[1], { ...SCENE.objects[2], center: [-1, 0.5, 3.1] }],
  };
  assert.equal(generalQa(tie, { frame: VIEW, rng: new Rng(2) }).filter((r) => r.kind === "nearer").length, 0);
});

Deno.test("caption and plural helpers", () => {
  assert.equal(plural("box"), "boxes");
  assert.equal(plural("sphere"), "spheres");
  assert.equal(caption([]), "An empty room.");
  assert.equal(caption(sceneObjects({ ...SCENE, objects: [SCENE.objects[2]] })), "A room with a blue sphere.");
});
