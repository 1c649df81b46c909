import {
  add,
  binaryReference,
  div,
  gelu,
  maximum,
  mul,
  pow,
  sub,
  Tensor,
  type UnaryName,
  unaryReference,
} from "../../../core/runtime.ts";
import * as ops from "../../../core/runtime.ts";
import { checkOp, deviceTest } from "./_check.ts";

const shapes: [number[], number[]][] = [
  [[1], [1]],
  [[7], [7]],
  [[3, 5], [3, 5]],
  [[2, 3, 5], [5]],
  [[4, 1], [1, 3]],
  [[2, 1, 3], [2, 4, 1]],
  [[1, 257], [3, 1]],
];

for (const op of ["add", "sub", "mul", "div"] as const) {
  deviceTest(`${op} matches f64 reference and finite differences with broadcasting`, async () => {
    const fn = { add, sub, mul, div }[op];
    for (const [sa, sb] of shapes) {
      await checkOp({
        name: `${op} [${sa}]·[${sb}]`,
        inputs: [{ shape: sa }, { shape: sb, offset: op === "div" ? 3 : 0 }],
        run: ([a, b]) => fn(a, b),
        reference: ([a, b]) => binaryReference(op, a, sa, b, sb).data,
      });
    }
  });
}

deviceTest("maximum routes the gradient to the larger operand", async () => {
  await checkOp({
    name: "maximum",
    inputs: [{ shape: [3, 4] }, { shape: [4] }],
    run: ([a, b]) => maximum(a, b),
    reference: ([a, b]) => binaryReference("maximum", a, [3, 4], b, [4]).data,
  });
});

deviceTest("scalar operands add and scale without a tensor", async () => {
  await checkOp({
    name: "scalar",
    inputs: [{ shape: [5, 3] }],
    run: ([a]) => div(mul(sub(add(a, 2), 0.5), 3), 4),
    reference: ([a]) => a.map((x) => ((x + 2 - 0.5) * 3) / 4),
  });
});

const unaryCases: [UnaryName, (t: Tensor) => Tensor, { offset?: number; scale?: number; rtol?: number }][] = [
  ["exp", ops.exp, {}],
  ["log", ops.log, { offset: 4 }],
  ["sqrt", ops.sqrt, { offset: 4 }],
  ["rsqrt", ops.rsqrt, { offset: 4 }],
  ["abs", ops.abs, { offset: 0.1 }],
  ["tanh", ops.tanh, { scale: 2 }],
  ["sigmoid", ops.sigmoid, { scale: 3 }],
  ["neg", ops.neg, {}],
  ["silu", ops.silu, { scale: 3 }],
  ["geluErf", (t) => gelu(t), { scale: 3 }],
  ["geluTanh", (t) => gelu(t, "tanh"), { scale: 3 }],
];

for (const [name, fn, o] of unaryCases) {
  deviceTest(`${name} matches f64 reference and finite differences`, async () => {
    for (const shape of [[1], [13], [3, 67]]) {
      await checkOp({
        name: `${name} [${shape}]`,
        inputs: [{ shape, offset: o.offset, scale: o.scale }],
        run: ([x]) => fn(x),
        reference: ([x]) => unaryReference(name, x),
        rtol: 2e-5,
        atol: 2e-6,
      });
    }
  });
}

deviceTest(
  "pow with a scalar exponent matches f64 reference, including negative bases with integer exponents",
  async () => {
    await checkOp({
      name: "pow 3",
      inputs: [{ shape: [11] }],
      run: ([x]) => pow(x, 3),
      reference: ([x]) => unaryReference("pow", x, 3),
      rtol: 2e-5,
    });
    await checkOp({
      name: "pow 0.5",
      inputs: [{ shape: [9], offset: 3 }],
      run: ([x]) => pow(x, 0.5),
      reference: ([x]) => unaryReference("pow", x, 0.5),
      rtol: 2e-5,
    });
  },
);

deviceTest("exp, tanh and sigmoid stay finite at large magnitudes", async () => {
  await checkOp({
    name: "large",
    inputs: [{ shape: [6], data: [-100, -30, 0, 30, 80, 100] }],
    run: ([x]) => ops.sigmoid(ops.tanh(x)),
    reference: ([x]) => x.map((v) => 1 / (1 + Math.exp(-Math.tanh(v)))),
  });
});
