import {
  initGpu,
  mropeTables,
  rope,
  ropeReference,
  ropeTables,
  ropeTablesToTensors,
  stackRopeTables,
  Tensor,
  visionRopeTables,
} from "../../../core/runtime.ts";
import type { RopeLayout, RopeTables } from "../../../core/runtime.ts";
import { TINY_CONFIG } from "../../../core/model/config.ts";
import { visionRotaryCosSin } from "../../../core/model/vision_windows.ts";
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { assertClose, checkOp, deviceTest } from "./_check.ts";

/** HF form on one row: q * cat(cos, cos) + rotate_half(q) * cat(sin, sin), rotate_half(q) = cat(-q2, q1). */
function hfRow(q: number[], cosHalf: number[], sinHalf: number[]): number[] {
  const h = q.length / 2;
  const rot = [...q.slice(h).map((v) => -v), ...q.slice(0, h)];
  return q.map((v, i) => v * cosHalf[i % h] + rot[i] * sinHalf[i % h]);
}

Deno.test("rope reference equals HF q*cos + rotate_half(q)*sin (halves, not interleaved)", () => {
  const D = 8, pos = [0, 3, 17];
  const t = ropeTables(pos, D, 10000);
  const x = Float64Array.from({ length: pos.length * D }, (_, i) => Math.sin(i + 1));
  const got = ropeReference(x, [1, 1, pos.length, D], "BHTD", t);
  for (let r = 0; r < pos.length; r++) {
    const row = Array.from(x.subarray(r * D, (r + 1) * D));
    const cs = Array.from({ length: D / 2 }, (_, j) => Math.cos(pos[r] / Math.pow(10000, (2 * j) / D)));
    const sn = Array.from({ length: D / 2 }, (_, j) => Math.sin(pos[r] / Math.pow(10000, (2 * j) / D)));
    assertClose(`row ${r}`, got.subarray(r * D, (r + 1) * D), hfRow(row, cs, sn), 1e-12, 1e-12);
  }
});

Deno.test("mrope tables take each frequency band's position from its t/h/w section", () => {
  const D = 16, theta = 1e6;
  const t = mropeTables([[5], [7], [11]], D, theta, [2, 3, 3]);
  const src = [5, 5, 7, 7, 7, 11, 11, 11];
  for (let j = 0; j < D / 2; j++) {
    const a = src[j] / Math.pow(theta, (2 * j) / D);
    assertClose(`band ${j}`, [t.cos[j], t.sin[j]], [Math.cos(a), Math.sin(a)], 1e-14, 1e-14);
  }
  // Text tokens (t = h = w) reduce to plain 1-D RoPE.
  const p = [0, 1, 2, 9];
  const m = mropeTables([p, p, p], D, theta, [2, 3, 3]);
  assertClose("text = 1-D rope", m.cos, ropeTables(p, D, theta).cos, 0, 0);
  let threw = false;
  try {
    mropeTables([p, p, p], D, theta, [2, 3, 4]);
  } catch (e) {
    threw = /mrope_section/.test(String(e));
  }
  assertEquals(threw, true);
});

Deno.test("vision rope tables match the vision tower's rot_pos_emb cos/sin (h bands then w bands)", () => {
  const grids: [number, number, number][] = [[1, 4, 6], [2, 2, 2]];
  const want = visionRotaryCosSin(TINY_CONFIG, grids);
  const D = TINY_CONFIG.vision_config.hidden_size / TINY_CONFIG.vision_config.num_heads;
  // (h, w) per patch in HF order, as visionRotaryPositions yields them.
  const hw: number[] = [];
  for (const [t, h, w] of grids) {
    for (let f = 0; f < t; f++) {
      for (let bh = 0; bh < h / 2; bh++) {
        for (let bw = 0; bw < w / 2; bw++) {
          for (let mh = 0; mh < 2; mh++) for (let mw = 0; mw < 2; mw++) hw.push(bh * 2 + mh, bw * 2 + mw);
        }
      }
    }
  }
  const got = visionRopeTables(hw, D);
  const N = hw.length / 2;
  const full = (tb: Float64Array) =>
    Float64Array.from({ length: N * D }, (_, i) => tb[Math.floor(i / D) * (D / 2) + (i % (D / 2))]);
  assertClose("cos", full(got.cos), want.cos, 1e-14, 1e-14);
  assertClose("sin", full(got.sin), want.sin, 1e-14, 1e-14);
});

function randomTables(T: number, D: number, seed: number): RopeTables {
  const pos = Array.from({ length: T }, (_, i) => (i * 7 + seed) % 23);
  return ropeTables(pos, D, 10000);
}

const cases: [string, number[], RopeLayout, boolean][] = [
  ["BHTD T=1", [1, 1, 1, 8], "BHTD", false],
  ["BHTD odd", [2, 3, 7, 16], "BHTD", false],
  ["BHTD batched tables", [2, 3, 5, 8], "BHTD", true],
  ["BTHD", [2, 5, 3, 8], "BTHD", false],
  ["BTHD batched tables", [3, 4, 2, 4], "BTHD", true],
  ["THD vision", [9, 3, 12], "THD", false],
];

for (const [name, shape, layout, batched] of cases) {
  deviceTest(`rope ${name} matches f64 reference and its backward rotates by -θ`, async () => {
    await initGpu();
    const g = layout === "THD"
      ? { B: 1, T: shape[0] }
      : layout === "BHTD"
      ? { B: shape[0], T: shape[2] }
      : { B: shape[0], T: shape[1] };
    const D = shape[shape.length - 1];
    const tb = batched
      ? stackRopeTables(Array.from({ length: g.B }, (_, b) => randomTables(g.T, D, b)))
      : randomTables(g.T, D, 0);
    await checkOp({
      name: `rope ${name}`,
      inputs: [{ shape }],
      run: ([x]) => {
        const { cos, sin } = ropeTablesToTensors(tb); // on the device under test, freed with the case
        return rope(x, cos, sin, layout);
      },
      reference: ([x]) => ropeReference(x, shape, layout, tb),
      rtol: 2e-5,
      atol: 2e-6,
    });
  });
}

deviceTest("rope rejects tables of the wrong length", async () => {
  await initGpu();
  const { cos, sin } = ropeTablesToTensors(ropeTables([0, 1, 2], 8, 10000));
  const x = Tensor.zeros([1, 2, 4, 8]);
  let msg = "";
  try {
    rope(x, cos, sin);
  } catch (e) {
    msg = String(e);
  }
  assertEquals(/cos\/sin of shape \[4, 4\]/.test(msg), true);
});
