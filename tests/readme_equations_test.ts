/**
 * The README's "Paper → code" table stays one hop from the code: every file it links exists and defines every
 * function (or class, or Class.method) named after the link, every equation and appendix the table promises has a
 * row, and a row that links no code says the equation is not implemented.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const HEADING = "## Paper → code";

/** The table rows of the section: [paper, what, implemented in]. */
function tableRows(readme: string): string[][] {
  const at = readme.indexOf(`\n${HEADING}\n`);
  assert.ok(at >= 0, `README.md has no "${HEADING}" section`);
  const body = readme.slice(at + HEADING.length + 2).split(/\n## /)[0];
  return body.split("\n")
    .filter((l) => l.startsWith("| ") && !/^\| -+ \|/.test(l))
    .slice(1) // the header
    .map((l) => l.slice(2, -2).split(/ (?<!\\)\| /).map((c) => c.trim()));
}

/** Whether `source` declares `name` (a function, class, type, constant, or a method or field of a class). */
function declares(source: string, name: string): boolean {
  const n = name.replace(/[$]/g, "\\$");
  return new RegExp(`\\b(function\\*?|class|interface|type|const|let)\\s+${n}\\b`).test(source) ||
    new RegExp(`^\\s*(?:readonly\\s+|static\\s+|async\\s+|get\\s+)*${n}\\s*[(<:=?]`, "m").test(source);
}

Deno.test("README Paper → code: every linked file exists and defines the functions named after its link", async () => {
  const rows = tableRows(await Deno.readTextFile(join(ROOT, "README.md")));
  let checked = 0;
  for (const [paper, , code] of rows) {
    // "[path](path) `a`, `b`; … [path2](path2) `c`": each name belongs to the nearest link before it.
    const parts = code.split(/(\[[^\]]+\]\([^)]+\))/);
    let file: string | null = null, source = "";
    for (const part of parts) {
      const link = /^\[([^\]]+)\]\(([^)]+)\)$/.exec(part);
      if (link) {
        assert.equal(link[1], link[2], `${paper}: link text and target differ: ${part}`);
        file = link[2];
        assert.ok(existsSync(join(ROOT, file)), `${paper}: ${file} does not exist`);
        source = await Deno.readTextFile(join(ROOT, file));
        continue;
      }
      for (const m of part.matchAll(/`([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)?)`/g)) {
        assert.ok(file, `${paper}: \`${m[1]}\` comes before any file link`);
        for (const name of m[1].split(".")) {
          assert.ok(declares(source, name), `${paper}: ${file} does not define ${name}`);
          checked++;
        }
      }
    }
    if (!code.includes("](")) {
      assert.match(code, /not implemented/, `${paper}: a row without code must say it is not implemented`);
    }
  }
  assert.ok(checked >= 30, `only ${checked} names checked`);
});

Deno.test("README Paper → code has a row for Eq 4-13, App. A, App. C and App. E", async () => {
  const papers = tableRows(await Deno.readTextFile(join(ROOT, "README.md"))).map((r) => r[0]).join(" ; ");
  const covered = new Set<number>();
  for (const m of papers.matchAll(/Eq (\d+)(?:-(\d+))?/g)) {
    for (let e = Number(m[1]); e <= Number(m[2] ?? m[1]); e++) covered.add(e);
  }
  for (let e = 4; e <= 13; e++) assert.ok(covered.has(e), `no row for Eq ${e} in: ${papers}`);
  for (const app of ["App. A", "App. C", "App. E"]) assert.ok(papers.includes(app), `no row for ${app}`);
});
