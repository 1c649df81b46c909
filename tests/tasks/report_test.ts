/**
 * `deno task report` as a user runs it: --check exits 1 on a stale README and writes nothing, a plain run rewrites
 * it (and then --check passes), a changed run report makes it stale again, and a malformed report is one line naming
 * the file and the field, exit 1, with the README untouched.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pckFixture, README } from "../eval/report/fixtures.ts";
import { runTask } from "./_task.ts";

async function writeJson(path: string, value: unknown) {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(value));
}

Deno.test("deno task report --check finds a stale README, the plain run fixes it, a new run report stales it", async () => {
  const cwd = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(cwd, "README.md"), README);
    let r = await runTask("report", ["--check"], cwd);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /README\.md is out of date/);
    assert.equal(await Deno.readTextFile(join(cwd, "README.md")), README, "--check wrote the README");

    r = await runTask("report", [], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /rewrote README\.md/);
    const first = await Deno.readTextFile(join(cwd, "README.md"));
    assert.match(first, /Not run yet: `deno task train`/);
    assert.equal((await runTask("report", ["--check"], cwd)).code, 0);
    assert.match((await runTask("report", [], cwd)).stdout, /unchanged/);

    await writeJson(join(cwd, "runs", "gasp", "pck.json"), pckFixture());
    r = await runTask("report", ["--check"], cwd);
    assert.equal(r.code, 1, "a new pck.json must make the README stale");
    assert.equal((await runTask("report", [], cwd)).code, 0);
    assert.match(await Deno.readTextFile(join(cwd, "README.md")), /Source: `runs\/gasp\/pck\.json`/);
    assert.equal((await runTask("report", ["--check"], cwd)).code, 0);
    const names = [...Deno.readDirSync(cwd)].map((e) => e.name).sort();
    assert.deepEqual(names, ["README.md", "runs"], "a temp file was left behind");
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("deno task report: a malformed report is one line naming file and field, exit 1, README untouched", async () => {
  const cwd = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(cwd, "README.md"), README);
    const bad = { ...pckFixture(), lmAfter: "low" };
    await writeJson(join(cwd, "runs", "gasp", "pck.json"), bad);
    const r = await runTask("report", [], cwd);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr.trim(), /^deno task report: DataFormatError: runs\/gasp\/pck\.json: field lmAfter: expected/);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.equal(await Deno.readTextFile(join(cwd, "README.md")), README);
    const noMarkers = await runTask("report", ["--readme", "missing.md"], cwd);
    assert.equal(noMarkers.code, 1);
    assert.match(noMarkers.stderr, /missing\.md/);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
