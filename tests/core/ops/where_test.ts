import { maskedFill, where, whereReference } from "../../../core/runtime.ts";
import { checkOp, deviceTest } from "./_check.ts";

function bits(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => ((i * 7 + seed) % 3 === 0 ? 1 : 0));
}

const cases: [number[], number[], number[]][] = [
  [[1], [1], [1]],
  [[7], [7], [7]],
  [[3, 1], [1, 5], [3, 5]],
  [[65], [2, 65], [1]],
  [[2, 1, 257], [2, 3, 257], [3, 1]],
];

deviceTest("where with broadcasting matches f64 reference; gradients reach a and b only where chosen", async () => {
  for (const [sc, sa, sb] of cases) {
    const n = sc.reduce((x, y) => x * y, 1);
    await checkOp({
      name: `where [${sc}] [${sa}] [${sb}]`,
      inputs: [{ shape: sc, data: bits(n, 1), grad: false }, { shape: sa }, { shape: sb }],
      run: ([c, a, b]) => where(c, a, b),
      reference: ([c, a, b]) => whereReference(c, sc, a, sa, b, sb),
    });
  }
});

deviceTest("where with scalar branches and maskedFill with a broadcast mask", async () => {
  await checkOp({
    name: "where scalar a",
    inputs: [{ shape: [4, 5], data: bits(20, 2), grad: false }, { shape: [5] }],
    run: ([c, b]) => where(c, 2.5, b),
    reference: ([c, b]) => whereReference(c, [4, 5], 2.5, [], b, [5]),
  });
  await checkOp({
    name: "maskedFill",
    inputs: [{ shape: [3, 7] }, { shape: [1, 7], data: bits(7, 0), grad: false }],
    run: ([x, m]) => maskedFill(x, m, -1e4),
    reference: ([x, m]) => whereReference(m, [1, 7], -1e4, [], x, [3, 7]),
  });
});
