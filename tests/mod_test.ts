/**
 * mod.ts is the library: deno.json names and exports it, and every `@example` in the JSDoc of the code it exports
 * type-checks (`deno check --doc`), so the documented calls are real ones.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

async function deno(args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: r.code, out: text(r.stdout) + text(r.stderr) };
}

/** Source files under the library folders whose JSDoc has an `@example`. */
async function filesWithExamples(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.name.endsWith(".ts") && (await Deno.readTextFile(p)).includes("@example")) out.push(p);
    }
  };
  for (const d of ["core", "train", "eval", "serve"]) await walk(join(ROOT, d));
  return out.map((p) => relative(ROOT, p)).sort();
}

Deno.test("deno.json names the package and exports mod.ts", async () => {
  const cfg = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  assert.equal(cfg.name, "@gasp/gasp-ts");
  assert.match(cfg.version, /^\d+\.\d+\.\d+$/);
  assert.equal(cfg.exports, "./mod.ts");
});

Deno.test("every @example in mod.ts and the files it exports from type-checks", async () => {
  const files = await filesWithExamples();
  assert.ok(files.length >= 5, `expected the entry points' examples, found them in ${files.join(", ")}`);
  const r = await deno(["check", "--doc", "mod.ts", ...files]);
  assert.equal(r.code, 0, `deno check --doc mod.ts ${files.join(" ")}:\n${r.out}`);
});

Deno.test("deno doc --lint mod.ts finds no documentation error (every exported symbol has JSDoc and public types)", async () => {
  const r = await deno(["doc", "--lint", "mod.ts"]);
  assert.equal(r.code, 0, `deno doc --lint mod.ts:\n${r.out}`);
  assert.doesNotMatch(r.out, /documentation lint errors?/, r.out);
});
