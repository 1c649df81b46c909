import {
  AdamW,
  adamwReference,
  adamwStep,
  clipGradNorm,
  clipGradNormReference,
  initGpu,
  keep,
  Rng,
  Tensor,
  tidyAsync,
} from "../../../core/runtime.ts";
import { assertClose, deviceTest } from "./_check.ts";

function randn(n: number, rng: Rng, scale = 1): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal() * scale);
}

const f32 = (x: Float64Array) => Float32Array.from(x);

deviceTest("clipGradNorm returns the f64 global norm and scales every grad into new tensors", async () => {
  await initGpu();
  const rng = new Rng(3);
  for (const [sizes, maxNorm] of [[[1, 7, 65], 0.5], [[257, 1000, 70000], 1e6], [[4097], 1]] as [number[], number][]) {
    const grads = sizes.map((n) => randn(n, rng, 0.3));
    const ref = clipGradNormReference(grads, maxNorm);
    await tidyAsync(async () => {
      const params = sizes.map((n) => keep(Tensor.zeros([n], { requiresGrad: true })));
      const olds = params.map((p, i) => {
        p.grad = keep(Tensor.from(f32(grads[i]), [sizes[i]]));
        return p.grad.view(p.grad.shape); // shares storage with the grad: must not change
      });
      const norm = await clipGradNorm(params, maxNorm);
      if (Math.abs(norm - ref.norm) > 1e-5 * ref.norm) throw new Error(`norm ${norm} vs ${ref.norm}`);
      for (let i = 0; i < params.length; i++) {
        assertClose(`clipped grad ${i}`, await params[i].grad!.toArray(), ref.grads[i], 1e-5, 1e-7);
        assertClose(`shared storage ${i}`, await olds[i].toArray(), grads[i], 1e-6, 1e-7);
        params[i].grad!.dispose();
        params[i].dispose();
      }
    });
  }
});

deviceTest("adamwStep matches the f64 reference over three steps with weight decay", async () => {
  await initGpu();
  const rng = new Rng(11);
  for (const n of [1, 7, 257, 1000]) {
    let p: Float64Array = randn(n, rng), m: Float64Array = new Float64Array(n), v: Float64Array = new Float64Array(n);
    await tidyAsync(async () => {
      const [pt, mt, vt] = [keep(Tensor.from(f32(p), [n])), keep(Tensor.zeros([n])), keep(Tensor.zeros([n]))];
      for (let step = 1; step <= 3; step++) {
        const g = randn(n, rng);
        const h = { lr: 1e-2, weightDecay: 0.1, step };
        adamwStep(pt, Tensor.from(f32(g), [n]), mt, vt, h);
        ({ param: p, m, v } = adamwReference(p, g, m, v, h));
      }
      assertClose(`adamw param n=${n}`, await pt.toArray(), p, 1e-5, 1e-6);
      assertClose(`adamw m n=${n}`, await mt.toArray(), m, 1e-5, 1e-6);
      assertClose(`adamw v n=${n}`, await vt.toArray(), v, 1e-5, 1e-7);
      [pt, mt, vt].forEach((t) => t.dispose());
    });
  }
});

deviceTest("AdamW uses per-group learning rates and its exported state resumes identically", async () => {
  await initGpu();
  const rng = new Rng(5);
  const w0 = randn(9, rng), b0 = randn(3, rng);
  const grads = [0, 1, 2, 3].map(() => [randn(9, rng), randn(3, rng)]);
  const make = () => {
    const w = Tensor.param(f32(w0), [3, 3], "w");
    const b = Tensor.param(f32(b0), [3], "b");
    return { w, b, opt: new AdamW([{ params: [w], lr: 0.1 }, { params: [b], lr: 0.01, weightDecay: 0 }]) };
  };
  const setGrads = (w: Tensor, b: Tensor, k: number) => {
    w.grad?.dispose();
    b.grad?.dispose();
    w.grad = keep(Tensor.from(f32(grads[k][0]), [3, 3]));
    b.grad = keep(Tensor.from(f32(grads[k][1]), [3]));
  };
  // Run A: 4 steps straight. Run B: 2 steps, export, new optimiser imports, 2 more steps.
  const a = make();
  for (let k = 0; k < 4; k++) {
    setGrads(a.w, a.b, k);
    a.opt.step(k === 3 ? 0.5 : 1);
  }
  const b = make();
  for (let k = 0; k < 2; k++) {
    setGrads(b.w, b.b, k);
    b.opt.step();
  }
  const state = await b.opt.exportState();
  if (state.steps.join() !== "2,2" || state.names.join() !== "w,b") {
    throw new Error(`state ${state.steps} ${state.names}`);
  }
  const c = { w: b.w, b: b.b, opt: new AdamW(b.opt.groups) };
  b.opt.dispose();
  c.opt.importState(state);
  for (let k = 2; k < 4; k++) {
    setGrads(c.w, c.b, k);
    c.opt.step(k === 3 ? 0.5 : 1);
  }
  assertClose("resumed w", await c.w.toArray(), await a.w.toArray(), 0, 0);
  assertClose("resumed b", await c.b.toArray(), await a.b.toArray(), 0, 0);
  // Reference for the group learning rates and decays.
  type S = { param: Float64Array; m: Float64Array; v: Float64Array };
  let rw: S = { param: w0, m: new Float64Array(9), v: new Float64Array(9) };
  let rb: S = { param: b0, m: new Float64Array(3), v: new Float64Array(3) };
  for (let k = 0; k < 4; k++) {
    const s = k === 3 ? 0.5 : 1;
    rw = adamwReference(rw.param, grads[k][0], rw.m, rw.v, { lr: 0.1 * s, weightDecay: 0.01, step: k + 1 });
    rb = adamwReference(rb.param, grads[k][1], rb.m, rb.v, { lr: 0.01 * s, weightDecay: 0, step: k + 1 });
  }
  assertClose("group lr w", await a.w.toArray(), rw.param, 1e-5, 1e-6);
  assertClose("group lr b", await a.b.toArray(), rb.param, 1e-5, 1e-6);
  for (const t of [a.w, a.b, c.w, c.b]) {
    t.grad?.dispose();
    t.dispose();
  }
  a.opt.dispose();
  c.opt.dispose();
});
