/**
 * Every `deno task` speaks the one command-line layer (core/cli.ts): `--help` lists its flags and exits 0, an unknown
 * flag is one line on stderr with exit 2 (no "Uncaught", no stack trace), and bad values are refused before any
 * work starts. Each task runs as deno.json defines it (same permission flags), from a scratch working folder.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runTask, TASKS } from "./_task.ts";

Deno.test("every task answers --help and -h with its flags and exit 0", async () => {
  assert.ok(TASKS.length >= 12, `expected the 12 tasks, got ${TASKS.map(([n]) => n)}`);
  assert.ok(TASKS.some(([n]) => n === "ablate"), "deno task ablate is checked too");
  const cwd = await Deno.makeTempDir();
  try {
    for (const [name] of TASKS) {
      for (const h of ["--help", "-h"]) {
        const r = await runTask(name, [h], cwd);
        assert.equal(r.code, 0, `${name} ${h}: exit ${r.code}\n${r.stderr}`);
        assert.match(r.stdout, new RegExp(`^deno task ${name.replace(":", "\\:")} \\[flags\\]`), name);
        assert.match(r.stdout, /\nFlags:\n/, name);
        assert.match(r.stdout, /-h, --help/, name);
        assert.doesNotMatch(r.stderr, /Uncaught|error/i, name);
      }
    }
    assert.deepEqual([...Deno.readDirSync(cwd)], [], "--help wrote files");
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("every task refuses an unknown flag with one line and exit 2, no stack trace", async () => {
  const cwd = await Deno.makeTempDir();
  try {
    for (const [name] of TASKS) {
      const r = await runTask(name, ["--no-such-flag"], cwd);
      assert.equal(r.code, 2, `${name}: exit ${r.code}\n${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `${name}: ${r.stderr}`);
      assert.match(lines[0], new RegExp(`^deno task ${name}: unknown flag --no-such-flag`));
      assert.doesNotMatch(r.stderr, /Uncaught|\n\s+at /, name);
    }
    assert.deepEqual([...Deno.readDirSync(cwd)], [], "a refused flag wrote files");
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("deno task eval --delta abc exits 2 within 5 s and writes nothing", async () => {
  const cwd = await Deno.makeTempDir();
  try {
    const r = await runTask("eval", ["--delta", "abc"], cwd);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr.trim(), /^deno task eval: --delta: expected a number, got "abc" \(see --help\)$/);
    assert.ok(r.ms < 5000, `took ${r.ms.toFixed(0)} ms`);
    assert.deepEqual([...Deno.readDirSync(cwd)], []);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("bad values are refused before any work: negative numbers parse, wrong ones name the flag", async () => {
  const cwd = await Deno.makeTempDir();
  try {
    const cases: [string, string[], RegExp][] = [
      ["serve", ["--port", "abc"], /--port: expected an integer, got "abc"/],
      ["train", ["--max-steps", "0"], /--max-steps: expected an integer ≥ 1, got 0/],
      ["train", ["--data", join(cwd, "missing")], /--data.*does not exist/],
      ["data", ["--seed", "-1", "--grid", "1"], /--grid: expected an integer ≥ 2, got 1/],
      ["bench:kernels", ["--repeat", "-3"], /--repeat: expected an integer ≥ 1, got -3/],
    ];
    for (const [name, args, re] of cases) {
      const r = await runTask(name, args, cwd);
      assert.equal(r.code, 2, `${name} ${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, re, name);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
    assert.deepEqual([...Deno.readDirSync(cwd)], []);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("deno task report is one of the tasks every test above runs", () => {
  assert.ok(TASKS.some(([n]) => n === "report"), `deno task report is missing from ${TASKS.map(([n]) => n)}`);
});
