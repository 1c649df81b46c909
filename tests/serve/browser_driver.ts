/**
 * Browser half of tests/serve/browser_test.ts, run as a subprocess (playwright-core probes paths such as
 * /proc/sys/fs/binfmt_misc that Deno only allows under --allow-all, which the test runner does not grant).
 *
 *   deno run -A tests/serve/browser_driver.ts <server url> <png path> <question> [screenshot.png]
 *
 * Launches Debian's chromium headless with a fresh profile, loads the page, uploads the image, asks the question,
 * waits for the streamed answer and prints one JSON line: {title, model, answer, status, consoleErrors}.
 */
import { Buffer } from "node:buffer";
import { chromium } from "playwright-core";

const [url, pngPath, question, screenshot] = Deno.args;
if (!url || !pngPath || !question) throw new Error("usage: browser_driver.ts <url> <png> <question> [screenshot]");

const profile = await Deno.makeTempDir({ prefix: "gasp-chromium-" });
// A persistent context on a fresh temp dir is playwright's way to pass --user-data-dir.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  viewport: { width: 900, height: 760 },
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  timeout: 30_000,
});
try {
  const page = context.pages()[0] ?? await context.newPage();
  const consoleErrors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(`${url}/`);
  const title = await page.title();
  const model = await page.textContent("#model");
  await page.setInputFiles("#images", {
    name: "scene.png",
    mimeType: "image/png",
    buffer: Buffer.from(await Deno.readFile(pngPath)),
  });
  await page.waitForSelector("#thumbs img");
  await page.fill("#question", question);
  await page.click("#submit");
  await page.waitForSelector("#status[data-state=done], #status[data-state=error]", { timeout: 15_000 });
  const answer = await page.textContent("#answer");
  const status = await page.textContent("#status");
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ title, model, answer, status, consoleErrors }));
} finally {
  await context.close();
  await Deno.remove(profile, { recursive: true }).catch(() => {});
}
