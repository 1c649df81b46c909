/**
 * Pinhole camera geometry in f64 (paper App. A).
 *
 * Conventions (core/scene/types.ts): OpenCV camera axes (x right, y down, z forward); `worldToCamera` is [R|t]
 * (3x4) mapping world points to camera points, p_c = R p_w + t; pixel coordinates have their origin at the
 * top-left pixel's corner, so pixel (i, j) has centre (j + 0.5, i + 0.5) and u = fx x/z + cx, v = fy y/z + cy.
 * Nerfstudio / OpenGL cameras are camera-to-world 4x4 with x right, y up, z backward (the camera looks down -z).
 */
import type { Mat3, Mat34, Row4 } from "../scene/types.ts";

export type { Mat3, Mat34 };
/** A 3-vector (a point or direction, metres in world or camera space). */
export type Vec3 = [number, number, number];
/** A 4x4 row-major matrix (an OpenGL camera-to-world pose). */
export type Mat4 = [Row4, Row4, Row4, Row4];

/** A projected point: pixel position (u, v) and camera depth z (metres; z <= 0 means behind the camera). */
export interface Projection {
  /** Pixel column (x right). */
  u: number;
  /** Pixel row (y down). */
  v: number;
  /** Camera depth in metres. */
  z: number;
}

/** Intrinsics for a centred principal point and square pixels, from the vertical field of view. */
export function intrinsicsFromFov(width: number, height: number, fovYDeg: number): Mat3 {
  const f = (height / 2) / Math.tan((fovYDeg * Math.PI) / 360);
  return [[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]];
}

/** World point to camera coordinates: p_c = R p_w + t. */
export function worldToCameraPoint(worldToCamera: Mat34, p: Vec3): Vec3 {
  const m = worldToCamera;
  return [
    m[0][0] * p[0] + m[0][1] * p[1] + m[0][2] * p[2] + m[0][3],
    m[1][0] * p[0] + m[1][1] * p[1] + m[1][2] * p[2] + m[1][3],
    m[2][0] * p[0] + m[2][1] * p[1] + m[2][2] * p[2] + m[2][3],
  ];
}

/** p_i = K [R|t] p_w: pixel (u, v) and camera depth z. u, v are NaN/inf when z = 0; callers test z first. */
export function project(K: Mat3, worldToCamera: Mat34, p: Vec3): Projection {
  const [x, y, z] = worldToCameraPoint(worldToCamera, p);
  return {
    u: (K[0][0] * x + K[0][1] * y) / z + K[0][2],
    v: (K[1][1] * y) / z + K[1][2],
    z,
  };
}

/** p_w = [R|t]^-1 (D K^-1 [u, v, 1]^T): pixel (u, v) at camera depth z (not ray length) to a world point. */
export function backProject(K: Mat3, worldToCamera: Mat34, u: number, v: number, z: number): Vec3 {
  const y = ((v - K[1][2]) / K[1][1]) * z;
  const x = ((u - K[0][2]) * z - K[0][1] * y) / K[0][0];
  return cameraToWorldPoint(worldToCamera, [x, y, z]);
}

/** Camera point to world: p_w = R^T (p_c - t). */
export function cameraToWorldPoint(worldToCamera: Mat34, p: Vec3): Vec3 {
  const m = worldToCamera;
  const a = p[0] - m[0][3], b = p[1] - m[1][3], c = p[2] - m[2][3];
  return [
    m[0][0] * a + m[1][0] * b + m[2][0] * c,
    m[0][1] * a + m[1][1] * b + m[2][1] * c,
    m[0][2] * a + m[1][2] * b + m[2][2] * c,
  ];
}

/** Camera centre in world coordinates: C = -R^T t. */
export function cameraCenter(worldToCamera: Mat34): Vec3 {
  return cameraToWorldPoint(worldToCamera, [0, 0, 0]);
}

/** [R|t]^-1 = [R^T | -R^T t] (R assumed orthonormal). */
export function invertPose(pose: Mat34): Mat34 {
  const r = pose;
  const t: Vec3 = [r[0][3], r[1][3], r[2][3]];
  const out = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]] as Mat34;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) out[i][j] = r[j][i];
    out[i][3] = -(r[0][i] * t[0] + r[1][i] * t[1] + r[2][i] * t[2]);
  }
  return out;
}

/** a ∘ b: the pose that applies b first, then a ([Ra Rb | Ra tb + ta]). */
export function composePose(a: Mat34, b: Mat34): Mat34 {
  const out = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]] as Mat34;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 4; j++) {
      let s = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
      if (j === 3) s += a[i][3];
      out[i][j] = s;
    }
  }
  return out;
}

/**
 * Nerfstudio/OpenGL camera-to-world (4x4 or its top 3x4; camera x right, y up, z backward) to OpenCV
 * world-to-camera [R|t]. Flipping the camera's y and z axes: c2w_cv = c2w_gl · diag(1, -1, -1), then invert.
 */
export function openGlCameraToWorldToOpenCvWorldToCamera(cameraToWorld: number[][]): Mat34 {
  const c = cameraToWorld;
  const cv = [
    [c[0][0], -c[0][1], -c[0][2], c[0][3]],
    [c[1][0], -c[1][1], -c[1][2], c[1][3]],
    [c[2][0], -c[2][1], -c[2][2], c[2][3]],
  ] as Mat34;
  return invertPose(cv);
}

/** Inverse of openGlCameraToWorldToOpenCvWorldToCamera: OpenCV world-to-camera to OpenGL camera-to-world 4x4. */
export function openCvWorldToCameraToOpenGlCameraToWorld(worldToCamera: Mat34): Mat4 {
  const c = invertPose(worldToCamera);
  return [
    [c[0][0], -c[0][1], -c[0][2], c[0][3]],
    [c[1][0], -c[1][1], -c[1][2], c[1][3]],
    [c[2][0], -c[2][1], -c[2][2], c[2][3]],
    [0, 0, 0, 1],
  ];
}

/**
 * World-to-camera pose of a camera at `eye` looking at `target`, with `up` (world) pointing up in the image
 * (OpenCV: image y points down, so the camera's y axis is -up projected).
 */
export function lookAt(eye: Vec3, target: Vec3, up: Vec3): Mat34 {
  const z = normalize(sub(target, eye));
  const x = normalize(cross(z, up)); // right = forward × up (y down convention)
  const y = cross(z, x); // down
  const R = [x, y, z];
  const t = R.map((r) => -(r[0] * eye[0] + r[1] * eye[1] + r[2] * eye[2]));
  return [
    [x[0], x[1], x[2], t[0]],
    [y[0], y[1], y[2], t[1]],
    [z[0], z[1], z[2], t[2]],
  ];
}

export function sub(a: Vec3, b: Vec3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function normalize(a: Vec3): Vec3 {
  const n = Math.hypot(a[0], a[1], a[2]);
  return [a[0] / n, a[1] / n, a[2] / n];
}
