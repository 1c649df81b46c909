/**
 * A real browser (Debian's chromium, driven by playwright-core in tests/serve/browser_driver.ts) loads GET /,
 * uploads an image, asks a question and sees the streamed answer. Needs /usr/bin/chromium: `bash .ci/setup`.
 * Set GASP_SCREENSHOT=/path.png to keep a screenshot of the answered page.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { StandInEngine } from "../../core/engine/stand_in.ts";
import { startServer } from "../../serve/server.ts";
import { makePng } from "./fixtures.ts";

Deno.test("chromium loads the page, submits an image and a question, and sees the streamed answer", async () => {
  try {
    await Deno.stat("/usr/bin/chromium");
  } catch {
    throw new Error("/usr/bin/chromium is missing: run `bash .ci/setup` (apt-get install chromium) first");
  }
  const engine = new StandInEngine({ tokenDelayMs: 5 });
  const server = startServer(engine, { port: 0, log: () => {} });
  const dir = await Deno.makeTempDir({ prefix: "gasp-browser-test-" });
  try {
    const png = join(dir, "scene.png");
    await Deno.writeFile(png, makePng(64, 40));
    const question = "Which object is closer to the camera?";
    const args = ["run", "-A", "tests/serve/browser_driver.ts", server.url, png, question];
    const shot = Deno.env.get("GASP_SCREENSHOT");
    if (shot) args.push(shot);
    const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `browser driver failed:\n${stdout}\n${stderr}`);
    const r = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
      title: string;
      model: string;
      answer: string;
      status: string;
      consoleErrors: string[];
    };
    assert.equal(r.title, "GASP-TS spatial VQA");
    assert.equal(r.model, engine.modelName);
    assert.match(r.answer, /1 image\(s\) \(64x40 png\)/);
    assert.match(r.answer, /Which object is closer to the camera\?/);
    assert.match(r.status, /^Done \(stop\)/);
    assert.deepEqual(r.consoleErrors, []);
    assert.equal(engine.calls, 1);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
