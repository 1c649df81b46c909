import assert from "node:assert/strict";
import { lookAt, type Vec3 } from "../../../../core/geometry/camera.ts";
import type { SceneDescription, SceneObject } from "../../../../core/scene/types.ts";
import {
  cameraPanDirection,
  cameraTranslationDirection,
  closestObject,
  countObjects,
  nearerToCamera,
  placeGold,
  relativeQuadrant,
} from "../../../../eval/benchmarks/synthetic/questions.ts";

const obj = (id: number, name: string, center: Vec3): SceneObject => ({
  id,
  shape: name.split(" ").pop()!,
  name,
  color: name.split(" ")[0],
  center,
  size: [0.4, 0.4, 0.4],
});

// A hand-made room, y up: a bed at the origin side, a tv 4 m along +z, a chair and others around.
const scene: SceneDescription = {
  id: "hand",
  seed: 0,
  roomSize: [6, 3, 6],
  up: [0, 1, 0],
  objects: [
    obj(1, "red box", [1, 0.2, 1]),
    obj(2, "blue box", [1, 0.2, 5]),
    obj(3, "green sphere", [3, 0.2, 3]),
    obj(4, "white box", [5, 0.2, 1]),
    obj(5, "small red cylinder", [1.5, 0.2, 1.2]),
  ],
};
const [red, blue, green, white, cyl] = scene.objects;

Deno.test("camera translation: a camera moved along its right axis is 'right', the reverse 'left'", () => {
  const p1 = lookAt([0, 1, 0], [0, 1, 5], [0, 1, 0]);
  // Looking along +z with y up, right = forward × up = -x.
  const p2 = lookAt([-2, 1, 0], [0, 1, 5], [0, 1, 0]);
  assert.equal(cameraTranslationDirection(p1, p2), "right");
  assert.equal(cameraTranslationDirection(p2, p1), "left");
  assert.equal(cameraTranslationDirection(p1, lookAt([0, 1, -3], [0, 1, 5], [0, 1, 0])), null);
});

Deno.test("camera pan: turning toward the right axis is 'right'", () => {
  const p1 = lookAt([0, 1, 0], [0, 1, 5], [0, 1, 0]);
  const p2 = lookAt([0, 1, 0], [-2, 1, 5], [0, 1, 0]);
  assert.equal(cameraPanDirection(p1, p2), "right");
  assert.equal(cameraPanDirection(p2, p1), "left");
  assert.equal(cameraPanDirection(p1, p1), null);
});

Deno.test("counting uses the last word of the name and the visible set", () => {
  assert.equal(countObjects(scene, "box"), 3);
  assert.equal(countObjects(scene, "box", new Set([1, 4])), 2);
  assert.equal(countObjects(scene, "cylinder"), 1);
});

Deno.test("closest object needs a clear margin", () => {
  assert.equal(closestObject(red, [blue, green, cyl]), 2);
  assert.equal(closestObject(green, [red, white]), null); // equidistant
});

Deno.test("relative direction quadrants in the standing/facing frame", () => {
  // Standing at red (1,·,1) facing blue (1,·,5): forward +z, right = -x.
  assert.equal(relativeQuadrant(scene, red, blue, green), "front-left"); // x=+2 (left), z=+2 (front)
  assert.equal(relativeQuadrant(scene, red, blue, white), null); // on the left axis (z = 0)
  const behindRight = obj(9, "pink sphere", [0, 0.2, 0]);
  assert.equal(relativeQuadrant(scene, red, blue, behindRight), "back-right");
});

Deno.test("nearer-to-camera uses camera depth with a ratio margin", () => {
  const pose = lookAt([1, 0.2, -2], [1, 0.2, 5], [0, 1, 0]);
  assert.equal(nearerToCamera(pose, red, blue), "a");
  assert.equal(nearerToCamera(pose, blue, red), "b");
  assert.equal(nearerToCamera(pose, red, cyl), null);
});

Deno.test("placeGold rotates options so the gold answer lands on the wanted letter", () => {
  assert.deepEqual(placeGold(["l", "r", "s"], "r", 0), ["r", "s", "l"]);
  assert.deepEqual(placeGold(["l", "r", "s"], "r", 2), ["s", "l", "r"]);
  assert.deepEqual(placeGold([0, 1, 2, 3], 0, 5), [3, 0, 1, 2]);
});
