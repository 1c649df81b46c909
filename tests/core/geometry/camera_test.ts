import assert from "node:assert/strict";
import {
  backProject,
  cameraCenter,
  composePose,
  intrinsicsFromFov,
  invertPose,
  lookAt,
  type Mat34,
  openCvWorldToCameraToOpenGlCameraToWorld,
  openGlCameraToWorldToOpenCvWorldToCamera,
  project,
  type Vec3,
} from "../../../core/geometry/camera.ts";
import { Rng } from "../../../core/random.ts";

function randomPose(rng: Rng): Mat34 {
  const eye: Vec3 = [rng.uniform(-3, 3), rng.uniform(-3, 3), rng.uniform(-3, 3)];
  const target: Vec3 = [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)];
  return lookAt(eye, target, [0, 1, 0]);
}

function close(a: number[][], b: number[][], tol: number, what: string) {
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < a[i].length; j++) {
      assert.ok(Math.abs(a[i][j] - b[i][j]) < tol, `${what}[${i}][${j}]: ${a[i][j]} vs ${b[i][j]}`);
    }
  }
}

const IDENTITY: Mat34 = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]];

Deno.test("project ∘ backProject is the identity on pixel and depth", () => {
  const rng = new Rng(1);
  const K = intrinsicsFromFov(224, 160, 55);
  for (let n = 0; n < 200; n++) {
    const pose = randomPose(rng);
    const u = rng.uniform(0, 224), v = rng.uniform(0, 160), z = rng.uniform(0.1, 20);
    const p = project(K, pose, backProject(K, pose, u, v, z));
    assert.ok(Math.abs(p.u - u) < 1e-9 && Math.abs(p.v - v) < 1e-9 && Math.abs(p.z - z) < 1e-9, `${p.u},${p.v},${p.z}`);
  }
});

Deno.test("projection uses OpenCV axes and a corner-origin pixel grid", () => {
  const K = intrinsicsFromFov(100, 100, 90); // f = 50, c = (50, 50)
  const p = project(K, IDENTITY, [1, 1, 2]); // right and down of the axis
  assert.deepEqual([p.u, p.v, p.z], [75, 75, 2]);
  assert.ok(Math.abs(K[0][0] - 50) < 1e-12);
});

Deno.test("invertPose gives the inverse: pose ∘ inverse = identity both ways", () => {
  const rng = new Rng(2);
  for (let n = 0; n < 50; n++) {
    const pose = randomPose(rng);
    close(composePose(pose, invertPose(pose)), IDENTITY, 1e-12, "P·P⁻¹");
    close(composePose(invertPose(pose), pose), IDENTITY, 1e-12, "P⁻¹·P");
  }
});

Deno.test("composePose applies its right argument first", () => {
  const rng = new Rng(3);
  const a = randomPose(rng), b = randomPose(rng);
  const p: Vec3 = [0.3, -1.2, 2.5];
  const K: [[number, number, number], [number, number, number], [number, number, number]] = [[1, 0, 0], [0, 1, 0], [
    0,
    0,
    1,
  ]];
  const viaB = project(K, b, p); // b p in camera coordinates = (u z, v z, z)
  const bp: Vec3 = [viaB.u * viaB.z, viaB.v * viaB.z, viaB.z];
  const two = project(K, a, bp), one = project(K, composePose(a, b), p);
  assert.ok(Math.abs(two.u - one.u) < 1e-9 && Math.abs(two.v - one.v) < 1e-9 && Math.abs(two.z - one.z) < 1e-9);
});

Deno.test("OpenGL camera-to-world ↔ OpenCV world-to-camera round-trips and flips y, z", () => {
  const rng = new Rng(4);
  for (let n = 0; n < 50; n++) {
    const pose = randomPose(rng);
    const gl = openCvWorldToCameraToOpenGlCameraToWorld(pose);
    close(openGlCameraToWorldToOpenCvWorldToCamera(gl), pose, 1e-12, "round trip");
    // Same camera centre; the GL camera looks down its -z, which is OpenCV's +z.
    const c = cameraCenter(pose);
    close([[gl[0][3], gl[1][3], gl[2][3]]], [c], 1e-12, "centre");
    close([[-gl[0][2], -gl[1][2], -gl[2][2]]], [[pose[2][0], pose[2][1], pose[2][2]]], 1e-12, "forward");
    close([[-gl[0][1], -gl[1][1], -gl[2][1]]], [[pose[1][0], pose[1][1], pose[1][2]]], 1e-12, "down");
  }
  // A GL camera at the origin with identity rotation looks down world -z: a point at z = -2 is in front.
  const w2c = openGlCameraToWorldToOpenCvWorldToCamera([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]);
  const K = intrinsicsFromFov(100, 100, 90);
  const p = project(K, w2c, [0, 1, -2]); // above the axis: GL y up → image row above the centre
  assert.equal(p.z, 2);
  assert.ok(p.v < 50);
});

Deno.test("lookAt puts the target on the optical axis with world up pointing up in the image", () => {
  const pose = lookAt([1, 1.5, -2], [3, 0.5, 4], [0, 1, 0]);
  const K = intrinsicsFromFov(64, 64, 60);
  const t = project(K, pose, [3, 0.5, 4]);
  assert.ok(Math.abs(t.u - 32) < 1e-9 && Math.abs(t.v - 32) < 1e-9 && t.z > 0);
  const above = project(K, pose, [3, 1.5, 4]);
  assert.ok(above.v < 32);
});
