import assert from "node:assert/strict";
import {
  bootstrapInterval,
  mcnemarExact,
  pairedBootstrap,
  quantile,
  wilsonInterval,
} from "../../../eval/benchmarks/statistics.ts";

const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tol ${tol})`);

Deno.test("Wilson interval matches published values and stays inside [0, 1] at 0 and n", () => {
  // Newcombe (1998) Table I: 8/10 → 0.4902–0.9433; 0/10 → 0–0.2775; 50/100 → 0.4038–0.5962.
  const a = wilsonInterval(8, 10), b = wilsonInterval(0, 10), c = wilsonInterval(50, 100);
  close(a.lo, 0.4902, 1e-4, "8/10 lo");
  close(a.hi, 0.9433, 1e-4, "8/10 hi");
  assert.equal(b.lo, 0);
  close(b.hi, 0.2775, 1e-4, "0/10 hi");
  close(c.lo, 0.4038, 1e-4, "50/100 lo");
  close(c.hi, 0.5962, 1e-4, "50/100 hi");
  const d = wilsonInterval(10, 10);
  close(d.hi, 1, 1e-12, "10/10 hi");
  close(d.lo, 0.7225, 1e-4, "10/10 lo");
  assert.ok(Number.isNaN(wilsonInterval(0, 0).lo));
});

/** Exact two-sided McNemar p from BigInt binomial coefficients: the reference for the log-space sum. */
function mcnemarReference(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  let coef = 1n, tail = 0n;
  for (let k = 0; k <= Math.min(b, c); k++) {
    if (k > 0) coef = (coef * BigInt(n - k + 1)) / BigInt(k);
    tail += coef;
  }
  // tail / 2^n with enough precision: scale by 2^60 before dividing.
  const scaled = (tail << 60n) / (1n << BigInt(n));
  return Math.min(1, (2 * Number(scaled)) / 2 ** 60);
}

Deno.test("McNemar exact test matches hand values and an exact BigInt reference", () => {
  close(mcnemarExact(10, 2), (2 * (1 + 12 + 66)) / 4096, 1e-12, "10 vs 2");
  close(mcnemarExact(2, 10), mcnemarExact(10, 2), 1e-15, "symmetric");
  close(mcnemarExact(0, 6), 2 / 64, 1e-12, "0 vs 6");
  assert.equal(mcnemarExact(5, 5), 1);
  assert.equal(mcnemarExact(0, 0), 1);
  for (const [b, c] of [[300, 250], [41, 17], [1, 0], [120, 121], [7, 30]]) {
    close(mcnemarExact(b, c), mcnemarReference(b, c), 1e-9, `${b} vs ${c}`);
  }
});

Deno.test("bootstrap interval of a proportion agrees with Wilson and is reproducible by seed", () => {
  const xs = Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const stat = (idx: readonly number[]) => idx.reduce((s, i) => s + xs[i], 0) / idx.length;
  const boot = bootstrapInterval(xs.length, stat, { seed: 3 });
  const w = wilsonInterval(200, 400);
  close(boot.lo, w.lo, 0.01, "lo");
  close(boot.hi, w.hi, 0.01, "hi");
  assert.deepEqual(bootstrapInterval(xs.length, stat, { seed: 3 }), boot);
  assert.notDeepEqual(bootstrapInterval(xs.length, stat, { seed: 4 }), boot);
});

Deno.test("paired bootstrap: a consistent gain is significant, identical scores are not", () => {
  const n = 300;
  const a = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : 1)); // 66.7 %
  const b = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 0 : 1)); // 50 %
  const diff = (x: number[], y: number[]) => (idx: readonly number[]) =>
    idx.reduce((s, i) => s + x[i] - y[i], 0) / idx.length;
  const gain = pairedBootstrap(n, diff(a, b), { seed: 1 });
  assert.ok(gain.pValue < 0.01, `p ${gain.pValue}`);
  assert.ok(gain.lo > 0 && gain.hi < 0.35 && gain.lo < 1 / 6 && gain.hi > 1 / 6);
  const same = pairedBootstrap(n, diff(a, a), { seed: 1 });
  assert.equal(same.pValue, 1);
  assert.deepEqual([same.lo, same.hi], [0, 0]);
});

Deno.test("quantile interpolates like numpy's default", () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([1, 2, 3, 4], 0), 1);
  assert.equal(quantile([1, 2, 3, 4], 1), 4);
  close(quantile([0, 10], 0.025), 0.25, 1e-12, "q 0.025");
});
