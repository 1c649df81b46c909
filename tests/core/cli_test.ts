import assert from "node:assert/strict";
import { defineCommand, flag, helpText, kebab, parseCommand, UsageError } from "../../core/cli.ts";

const cmd = defineCommand({
  name: "demo",
  summary: "a demo command",
  flags: {
    seed: flag.int("seed", { default: 0 }),
    maxSteps: flag.int("steps", { min: 1 }),
    delta: flag.number("threshold", { default: 2, min: 0, exclusiveMin: true }),
    out: flag.string("output folder", { default: "runs/x", placeholder: "DIR" }),
    model: flag.list("model folder", { placeholder: "DIR" }),
    device: flag.choice(["auto", "wasm", "webgpu"] as const, "device", { default: "auto" }),
    quick: flag.boolean("fewer shapes"),
  },
});

function ok(argv: string[]) {
  const r = parseCommand(cmd, argv);
  assert.equal(r.help, false);
  return (r as { values: Record<string, unknown> }).values;
}

Deno.test("cli: defaults apply when flags are absent", () => {
  assert.deepEqual(ok([]), {
    seed: 0,
    maxSteps: undefined,
    delta: 2,
    out: "runs/x",
    model: [],
    device: "auto",
    quick: false,
  });
});

Deno.test("cli: negative numbers work without =, and --flag=value works", () => {
  const v = ok(["--seed", "-1", "--max-steps=3", "--quick", "--model", "a", "--model=b"]);
  assert.equal(v.seed, -1);
  assert.equal(v.maxSteps, 3);
  assert.equal(v.quick, true);
  assert.deepEqual(v.model, ["a", "b"]);
});

Deno.test("cli: bad values, unknown flags, missing values and repeats are one-line UsageErrors", () => {
  const cases: [string[], RegExp][] = [
    [["--delta", "abc"], /--delta: expected a number, got "abc"/],
    [["--delta", "0"], /--delta: expected a number > 0/],
    [["--max-steps", "1.5"], /--max-steps: expected an integer/],
    [["--max-steps", "0"], /--max-steps: expected an integer ≥ 1/],
    [["--bogus"], /unknown flag --bogus/],
    [["--out"], /--out needs a value/],
    [["--out", "--quick"], /--out needs a value/],
    [["--seed", "1", "--seed", "2"], /--seed given twice/],
    [["--device", "cuda"], /--device: expected one of auto, wasm, webgpu/],
    [["--quick=yes"], /--quick: expected true or false/],
    [["stray"], /unexpected argument "stray"/],
  ];
  for (const [argv, re] of cases) {
    assert.throws(() => parseCommand(cmd, argv), (e: unknown) => {
      assert.ok(e instanceof UsageError, `${argv.join(" ")}: ${e}`);
      assert.match((e as Error).message, re);
      assert.ok(!(e as Error).message.includes("\n"));
      return true;
    });
  }
});

Deno.test("cli: --help and -h win over other flags, even invalid ones", () => {
  assert.equal(parseCommand(cmd, ["--delta", "abc", "--help"]).help, true);
  assert.equal(parseCommand(cmd, ["-h"]).help, true);
});

Deno.test("cli: help text lists every flag with its default", () => {
  const text = helpText(cmd);
  for (const name of Object.keys(cmd.flags)) assert.ok(text.includes(`--${kebab(name)}`), name);
  assert.match(text, /--delta X\s+threshold \(default: 2\)/);
  assert.match(text, /--device auto\|wasm\|webgpu\s+device \(default: auto\)/);
  assert.match(text, /-h, --help/);
});

Deno.test("cli: cross-flag checks run after parsing and refuse as UsageError", () => {
  const c = defineCommand({
    name: "x",
    summary: "",
    flags: { a: flag.int("a", { default: 1 }), b: flag.int("b", { default: 2 }) },
    check: (v) => {
      if (v.a > v.b) throw new Error("--a must not exceed --b");
    },
  });
  assert.throws(() => parseCommand(c, ["--a", "5"]), /--a must not exceed --b/);
  assert.equal(parseCommand(c, ["--a", "2"]).help, false);
});
