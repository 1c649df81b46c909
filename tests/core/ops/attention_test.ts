import { attention, attentionReference, backward, initGpu, Rng, Tensor, tidyAsync } from "../../../core/runtime.ts";
import type { AttentionDims, AttentionOptions } from "../../../core/runtime.ts";
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { assertClose, checkOp, deviceTest } from "./_check.ts";

type Case = AttentionDims;

type RefOpts = Parameters<typeof attentionReference>[4];

function shapes(c: Case): number[][] {
  return [[c.B, c.Hq, c.Tq, c.D], [c.B, c.Hkv, c.Tk, c.D], [c.B, c.Hkv, c.Tk, c.D]];
}

/** GPU options + the same options for the reference (mask as host data). */
function withMask(
  maskData: Float64Array | null,
  maskShape: number[],
  extra: AttentionOptions & RefOpts = {},
): { gpu: () => AttentionOptions; ref: RefOpts } {
  let t: Tensor | null = null;
  return {
    gpu: () => {
      if (maskData && !t) t = Tensor.from(Float32Array.from(maskData), maskShape);
      return { ...extra, mask: t ?? undefined } as AttentionOptions;
    },
    ref: { ...extra, mask: maskData ? { data: maskData, shape: maskShape } : undefined } as RefOpts,
  };
}

async function gradCase(name: string, c: Case, o: { gpu: () => AttentionOptions; ref: RefOpts }, seed = 7) {
  await initGpu();
  const opts = o.gpu();
  await checkOp({
    name,
    seed,
    inputs: shapes(c).map((shape) => ({ shape })),
    run: ([q, k, v]) => attention(q, k, v, opts),
    reference: ([q, k, v]) => attentionReference(q, k, v, c, o.ref).out,
    rtol: 1e-4,
    atol: 1e-5,
  });
}

deviceTest(
  "attention forward matches f64 reference for T in {1,7,33}, D in {8,16,64}, GQA 4:2 and 14:2, causal or not",
  async () => {
    await initGpu();
    const rng = new Rng(3);
    for (const T of [1, 7, 33]) {
      for (const D of [8, 16, 64]) {
        for (const [Hq, Hkv] of [[4, 2], [14, 2]]) {
          for (const causal of [false, true]) {
            const c = { B: T === 7 ? 2 : 1, Hq, Hkv, Tq: T, Tk: T, D };
            const data = shapes(c).map((s) =>
              Float64Array.from({ length: s.reduce((a, b) => a * b) }, () => rng.normal() * 1.5)
            );
            const want = attentionReference(data[0], data[1], data[2], c, { causal });
            await tidyAsync(async () => {
              const [q, k, v] = data.map((d, i) => Tensor.from(Float32Array.from(d), shapes(c)[i]));
              const { out, lse } = attention(q, k, v, { causal, returnLse: true });
              const what = `T=${T} D=${D} ${Hq}:${Hkv} causal=${causal}`;
              assertClose(`${what} out`, await out.toArray(), want.out, 1e-4, 2e-5);
              assertClose(`${what} lse`, await lse.toArray(), want.lse, 1e-5, 1e-5);
            });
          }
        }
      }
    }
  },
);

deviceTest("attention gradients match finite differences (GQA 4:2, T = 1 and 7, plain and causal)", async () => {
  for (const T of [1, 7]) {
    for (const causal of [false, true]) {
      await gradCase(
        `T=${T} causal=${causal}`,
        { B: 1, Hq: 4, Hkv: 2, Tq: T, Tk: T, D: 8 },
        withMask(null, [], { causal }),
      );
    }
  }
});

deviceTest(
  "attention with an arbitrary additive mask and fully masked rows gives zeros, no NaN, correct gradients",
  async () => {
    const c = { B: 2, Hq: 4, Hkv: 2, Tq: 5, Tk: 6, D: 8 };
    const rng = new Rng(11);
    // (B, 1, Tq, Tk): random biases, some -Infinity holes, row 2 of batch 0 fully masked.
    const m = Float64Array.from({ length: 2 * 5 * 6 }, () => (rng.next() < 0.25 ? -Infinity : rng.normal()));
    for (let j = 0; j < 6; j++) m[2 * 6 + j] = -Infinity;
    await gradCase("additive mask", c, withMask(m, [2, 1, 5, 6]));
    await tidyAsync(async () => {
      const q = Tensor.randn([2, 4, 5, 8], rng),
        k = Tensor.randn([2, 2, 6, 8], rng),
        v = Tensor.randn([2, 2, 6, 8], rng);
      q.requiresGrad = true;
      const mask = Tensor.from(Float32Array.from(m), [2, 1, 5, 6]);
      const { out, lse } = attention(q, k, v, { mask, returnLse: true });
      const o = await out.toArray(), l = await lse.toArray();
      for (let h = 0; h < 4; h++) {
        assertEquals(Array.from(o.subarray((h * 5 + 2) * 8, (h * 5 + 3) * 8)), new Array(8).fill(0));
        assertEquals(l[h * 5 + 2], -Infinity);
      }
      backward(out, Tensor.full(out.shape, 1));
      const g = await q.grad!.toArray();
      assertEquals(g.every(Number.isFinite), true);
    });
  },
);

deviceTest("attention with a binary (0/1) mask broadcast over heads matches reference and gradients", async () => {
  const c = { B: 1, Hq: 4, Hkv: 2, Tq: 7, Tk: 7, D: 8 };
  const rng = new Rng(5);
  const m = Float64Array.from({ length: 7 * 7 }, (_, i) => (i % 7 === 0 || rng.next() < 0.6 ? 1 : 0));
  for (let j = 0; j < 7; j++) m[3 * 7 + j] = 0; // row 3 fully masked
  await gradCase("binary mask", c, withMask(m, [7, 7], { maskKind: "binary", causal: true }));
});

deviceTest("attention causal with Tq < Tk aligns the queries to the last keys (KV-cache decoding)", async () => {
  await gradCase("decode", { B: 1, Hq: 2, Hkv: 1, Tq: 3, Tk: 8, D: 4 }, withMask(null, [], { causal: true }));
});

deviceTest("attention with cuSeqlens is block-diagonal and equals segmentIds and an explicit block mask", async () => {
  const c = { B: 1, Hq: 2, Hkv: 2, Tq: 12, Tk: 12, D: 8 };
  const cu = [0, 3, 7, 7, 12];
  await gradCase("cuSeqlens", c, withMask(null, [], { cuSeqlens: cu }));
  const block = new Float64Array(144).fill(-Infinity);
  for (let s = 0; s + 1 < cu.length; s++) {
    for (let i = cu[s]; i < cu[s + 1]; i++) for (let j = cu[s]; j < cu[s + 1]; j++) block[i * 12 + j] = 0;
  }
  await tidyAsync(async () => {
    const rng = new Rng(9);
    const q = Tensor.randn([1, 2, 12, 8], rng),
      k = Tensor.randn([1, 2, 12, 8], rng),
      v = Tensor.randn([1, 2, 12, 8], rng);
    const a = await attention(q, k, v, { cuSeqlens: cu }).toArray();
    const ids = [5, 5, 5, 1, 1, 1, 1, 9, 9, 9, 9, 9];
    assertClose("segmentIds", await attention(q, k, v, { segmentIds: ids }).toArray(), a, 0, 0);
    const mask = Tensor.from(Float32Array.from(block), [12, 12]);
    assertClose("block mask", await attention(q, k, v, { mask }).toArray(), a, 1e-5, 1e-6);
  });
  let threw = false;
  try {
    attention(Tensor.zeros([1, 1, 4, 4]), Tensor.zeros([1, 1, 4, 4]), Tensor.zeros([1, 1, 4, 4]), {
      segmentIds: [0, 1, 0, 1],
    });
  } catch (e) {
    threw = /contiguous/.test(String(e));
  }
  assertEquals(threw, true);
});

deviceTest("attention gradients at T=33, D=64, GQA 14:2, causal match sampled finite differences", async () => {
  await initGpu();
  const c = { B: 1, Hq: 14, Hkv: 2, Tq: 33, Tk: 33, D: 64 };
  const rng = new Rng(21);
  const data = shapes(c).map((s) => Float64Array.from({ length: s.reduce((a, b) => a * b) }, () => rng.normal()));
  const w = Float64Array.from({ length: c.Hq * 33 * 64 }, () => rng.normal());
  const ref = (xs: Float64Array[]) => attentionReference(xs[0], xs[1], xs[2], c, { causal: true }).out;
  await tidyAsync(async () => {
    const xs = data.map((d, i) => Tensor.from(Float32Array.from(d), shapes(c)[i], { requiresGrad: true }));
    const y = attention(xs[0], xs[1], xs[2], { causal: true });
    backward(y, Tensor.from(Float32Array.from(w), y.shape));
    for (let i = 0; i < 3; i++) {
      const got = await xs[i].grad!.toArray();
      // Central finite differences of Σ w ⊙ out on 12 sampled elements (the full FD would take minutes).
      const picks = Array.from({ length: 12 }, () => rng.int(got.length));
      const dot = (y: Float64Array) => y.reduce((a, v, n) => a + v * w[n], 0);
      const fd = picks.map((idx) => {
        const saved = data[i][idx], h = 1e-6 * Math.max(1, Math.abs(saved));
        data[i][idx] = saved + h;
        const up = dot(ref(data));
        data[i][idx] = saved - h;
        const down = dot(ref(data));
        data[i][idx] = saved;
        return (up - down) / (2 * h);
      });
      if (fd.some((x) => !Number.isFinite(x))) throw new Error("finite differences are not finite");
      assertClose(`input ${i}`, picks.map((k) => got[k]), fd, 2e-3, 2e-3);
    }
  });
});

deviceTest("attention output does not depend on the tile sizes", async () => {
  await initGpu();
  const rng = new Rng(4);
  await tidyAsync(async () => {
    const q = Tensor.randn([1, 4, 19, 16], rng),
      k = Tensor.randn([1, 2, 19, 16], rng),
      v = Tensor.randn([1, 2, 19, 16], rng);
    const base = await attention(q, k, v, { causal: true }).toArray();
    for (const tiling of [{ wg: 16, bc: 3, qr: 1 }, { wg: 4, bc: 2, qr: 2 }, { wg: 32, bc: 1, qr: 3 }]) {
      assertClose(
        `${JSON.stringify(tiling)}`,
        await attention(q, k, v, { causal: true, tiling }).toArray(),
        base,
        1e-5,
        1e-6,
      );
    }
  });
});
