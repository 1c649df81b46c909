/**
 * The README's "Train from a script" block, run exactly as written: the test extracts it from README.md (so the two
 * cannot drift) and runs it as a user would, as its own script resolving `@gasp/gasp-ts` through deno.json. It must
 * exit 0, print one finite L_total per training step and a PCK@2 line per model, and leave the files it wrote.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The heading of the README section whose code block is the example. */
const HEADING = "## Train from a script";

/** The first ```ts block after the heading. */
function readmeExample(readme: string): string {
  const at = readme.indexOf(`\n${HEADING}\n`);
  assert.ok(at >= 0, `README.md has no "${HEADING}" section`);
  const m = /\n```ts\n([\s\S]*?)\n```\n/.exec(readme.slice(at));
  assert.ok(m, `README.md's "${HEADING}" section has no \`\`\`ts block`);
  return m[1] + "\n";
}

Deno.test("the README's train-from-a-script example runs as written: data, base, 4 GASP steps, losses and PCK", async () => {
  const code = readmeExample(await Deno.readTextFile(join(ROOT, "README.md")));
  assert.match(code, /from "@gasp\/gasp-ts"/, "the example imports the package by the name deno.json gives it");
  const tmp = await Deno.makeTempDir({ prefix: "gasp-readme-" });
  try {
    const script = join(tmp, "demo.ts"), out = join(tmp, "runs");
    await Deno.writeTextFile(script, code);
    // It type-checks as users' editors see it (deno run alone does not check types) …
    const check = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--config", join(ROOT, "deno.json"), script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(check.code, 0, `deno check of the README example:\n${new TextDecoder().decode(check.stderr)}`);
    // … and runs.
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--config",
        join(ROOT, "deno.json"),
        script,
        out,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(r.stdout), stderr = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, `the README example exited ${r.code}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);

    const lossLine = stdout.split("\n").find((l) => l.startsWith("L_total per step:"));
    assert.ok(lossLine, `no "L_total per step:" line in\n${stdout}`);
    const losses = lossLine.slice("L_total per step:".length).trim().split(/\s+/).map(Number);
    assert.equal(losses.length, 4, `one loss per GASP step: ${lossLine}`);
    assert.ok(losses.every((x) => Number.isFinite(x) && x > 0), `finite positive losses: ${lossLine}`);

    for (const model of ["base", "gasp"]) {
      const line = stdout.split("\n").find((l) => l.startsWith(`${model} Q/K peak-layer PCK@2 `));
      assert.ok(line, `no PCK line for ${model} in\n${stdout}`);
      const [pck, chance] = [...line.matchAll(/(?:PCK@2|chance) (\S+)/g)].map((x) => Number(x[1]));
      assert.ok(pck >= 0 && pck <= 1 && chance > 0 && chance < 1, `PCK and chance in [0, 1]: ${line}`);
    }
    for (
      const f of ["base/export/decoder.onnx", "gasp/export/decoder.onnx", "gasp/metrics.jsonl", "eval/report.json"]
    ) {
      assert.ok(existsSync(join(out, f)), `the example wrote ${f}`);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
