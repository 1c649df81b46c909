/**
 * Test harness shared by every op test: compare an op to its f64 reference, and its backward to central finite
 * differences of the f64 reference (L = Σ w ⊙ y with fixed random weights w, so every output element matters),
 * on every device (WebGPU and WASM) against the same references.
 */
import { backward, type Device, DEVICES, initGpu, Rng, Tensor, tidyAsync, withDevice } from "../../../core/runtime.ts";
import { initWasm } from "../../../core/device_init.ts";

/** Start both devices (the default device stays as it was: WebGPU unless chosen otherwise). */
export async function initDevices(): Promise<void> {
  await initGpu();
  await initWasm();
}

/** Run `fn` once per device with that device as the default; a failure names the device. */
export async function onEachDevice(fn: (device: Device) => Promise<void> | void, devices = DEVICES): Promise<void> {
  await initDevices();
  for (const d of devices) {
    try {
      await withDevice(d, () => fn(d));
    } catch (e) {
      if (e instanceof Error) e.message = `[${d}] ${e.message}`;
      throw e;
    }
  }
}

/** The device a deviceTest is running on (checkOp inside it checks that device only). */
let active: Device | null = null;

/**
 * Deno.test once per device, named "<name> [<device>]", with that device as the default (so `Tensor.from` and the
 * ops in `fn` run there, and `checkOp` inside checks that device only).
 */
export function deviceTest(
  name: string,
  fn: (device: Device) => Promise<void> | void,
  devices: readonly Device[] = DEVICES,
): void {
  for (const d of devices) {
    Deno.test(`${name} [${d}]`, async () => {
      await initDevices();
      active = d;
      try {
        await withDevice(d, () => fn(d));
      } finally {
        active = null;
      }
    });
  }
}

export interface InputSpec {
  shape: number[];
  /** Values; random normal (seeded) if omitted. */
  data?: ArrayLike<number>;
  /** Whether to check this input's gradient (default true). */
  grad?: boolean;
  /** Scale of random values (default 1). */
  scale?: number;
  /** Added to random values (e.g. to keep log/sqrt inputs positive). */
  offset?: number;
}

export interface OpCase {
  name: string;
  inputs: InputSpec[];
  /** The op on GPU tensors. */
  run: (xs: Tensor[]) => Tensor;
  /** The same op in f64 on flat arrays; returns the flat output. */
  reference: (xs: Float64Array[]) => Float64Array;
  /** Relative+absolute tolerance for the forward (default 1e-5 relative, 1e-5 absolute). */
  rtol?: number;
  atol?: number;
  /** Tolerance for gradients vs finite differences (default 2e-3 relative, 2e-3 absolute). */
  gradRtol?: number;
  gradAtol?: number;
  /** Skip gradient checks (ops without gradient, e.g. argmax). */
  noGrad?: boolean;
  /** Finite-difference step (default 1e-6 in f64). */
  eps?: number;
  seed?: number;
  /** Devices to check on (default both). */
  devices?: readonly Device[];
}

function makeData(spec: InputSpec, rng: Rng): Float64Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.data) return Float64Array.from(spec.data);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = rng.normal() * (spec.scale ?? 1) + (spec.offset ?? 0);
  return d;
}

export function assertClose(
  what: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  rtol: number,
  atol: number,
): void {
  if (got.length !== want.length) throw new Error(`${what}: length ${got.length} vs reference ${want.length}`);
  let worst = -1, worstErr = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i], w = want[i];
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    const err = Math.abs(g - w);
    const tol = atol + rtol * Math.abs(w);
    if (!(err <= tol) && err / tol > worstErr) {
      worstErr = err / tol;
      worst = i;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${what}: element ${worst}: got ${got[worst]}, expected ${want[worst]} (error ${worstErr.toFixed(2)}× tolerance)`,
    );
  }
}

/** Run forward vs reference and (unless noGrad) each input's gradient vs finite differences, on each device. */
export async function checkOp(c: OpCase): Promise<void> {
  await onEachDevice(() => checkOnDevice(c), active ? [active] : c.devices);
}

async function checkOnDevice(c: OpCase): Promise<void> {
  const rng = new Rng(c.seed ?? 1234);
  const datas = c.inputs.map((s) => makeData(s, rng));
  const ref = c.reference(datas);
  const w = new Float64Array(ref.length);
  for (let i = 0; i < w.length; i++) w[i] = rng.normal();
  await tidyAsync(async () => {
    const xs = c.inputs.map((s, i) =>
      Tensor.from(Float32Array.from(datas[i]), s.shape, { requiresGrad: !c.noGrad && s.grad !== false })
    );
    const y = c.run(xs);
    const got = await y.toArray();
    assertClose(`${c.name} forward`, got, ref, c.rtol ?? 1e-5, c.atol ?? 1e-5);
    if (c.noGrad) return;
    const wt = Tensor.from(Float32Array.from(w), y.shape);
    backward(y, wt);
    for (let i = 0; i < xs.length; i++) {
      if (c.inputs[i].grad === false) continue;
      const gradT = xs[i].grad;
      if (!gradT) throw new Error(`${c.name}: input ${i} received no gradient`);
      const got = await gradT.toArray();
      const fd = finiteDifference(c.reference, datas, i, w, c.eps ?? 1e-6);
      assertClose(`${c.name} d/dinput${i}`, got, fd, c.gradRtol ?? 2e-3, c.gradAtol ?? 2e-3);
      gradT.dispose();
      xs[i].grad = null;
    }
  });
}

/** Central finite differences of L = Σ w ⊙ f(x) w.r.t. input i, in f64. */
export function finiteDifference(
  f: (xs: Float64Array[]) => Float64Array,
  xs: Float64Array[],
  i: number,
  w: Float64Array,
  eps: number,
): Float64Array {
  const out = new Float64Array(xs[i].length);
  const dot = (y: Float64Array) => y.reduce((a, v, k) => a + v * w[k], 0);
  for (let k = 0; k < xs[i].length; k++) {
    const saved = xs[i][k];
    const h = eps * Math.max(1, Math.abs(saved));
    xs[i][k] = saved + h;
    const up = dot(f(xs));
    xs[i][k] = saved - h;
    const down = dot(f(xs));
    xs[i][k] = saved;
    out[k] = (up - down) / (2 * h);
  }
  return out;
}

/** Bit-equal arrays (NaN equals NaN), reporting the first difference (assert.deepEqual would diff whole dumps). */
export function assertSameValues(what: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  if (got.length !== want.length) throw new Error(`${what}: length ${got.length} vs ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    if (!Object.is(got[i], want[i])) throw new Error(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
  }
}
