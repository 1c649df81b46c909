import assert from "node:assert/strict";
import { mergeLoraWeights } from "../../../core/model/lora_merge.ts";
import { Rng } from "../../../core/random.ts";
import { mergeLora } from "../../../train/reference/lora.ts";

Deno.test("mergeLoraWeights equals the f64 reference merge W + (α/r)·B·A rounded to f32, and leaves other weights", () => {
  const rng = new Rng(4);
  const [O, I, R] = [6, 5, 3];
  const W = Float32Array.from({ length: O * I }, () => rng.normal());
  const A = Float32Array.from({ length: R * I }, () => rng.normal());
  const B = Float32Array.from({ length: O * R }, () => rng.normal());
  const other = new Float32Array([1, 2]);
  const base = new Map([["m.weight", W], ["n.weight", other]]);
  const merged = mergeLoraWeights(base, [{ module: "m", rank: R, A, B }], 7 / R);
  const f64 = (d: Float32Array, rows: number, cols: number) => ({ rows, cols, data: Float64Array.from(d) });
  const want = mergeLora(f64(W, O, I), { rank: R, alpha: 7, dropout: 0, A: f64(A, R, I), B: f64(B, O, R) });
  assert.deepEqual(merged.get("m.weight"), Float32Array.from(want.data));
  assert.equal(merged.get("n.weight"), other);
  assert.throws(() => mergeLoraWeights(base, [{ module: "x", rank: R, A, B }], 1), /no base weight x.weight/);
});
