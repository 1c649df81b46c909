/**
 * The README's generated results (eval/report/): every section filled from the run reports with the numbers they
 * hold, the text outside the markers unchanged byte for byte, the output already `deno fmt`-clean, absent reports
 * named with the command that makes them, malformed ones refused naming the file and the field, and the paper's
 * targets judged from the numbers (never met by a chance-level read-out).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ablationColumns } from "../../../eval/report/ablation.ts";
import { commandFrom, pct } from "../../../eval/report/format.ts";
import { AblationSchema, type EvalReport } from "../../../eval/report/inputs.ts";
import { replaceSections } from "../../../eval/report/markers.ts";
import { buildReadme } from "../../../eval/report/readme_report.ts";
import { targetRows } from "../../../eval/report/targets.ts";
import { withTempDir } from "../benchmarks/fixtures.ts";
import { ablationFixture, outside, pckFixture, README, writeBenchResults, writeEvalReport } from "./fixtures.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

async function writeJson(path: string, value: unknown) {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(value, null, 2));
}

/** `deno fmt --check` of the generated part of `text` (first to last marker) under the repository's fmt config. */
async function fmtClean(dir: string, text: string): Promise<string> {
  const f = join(dir, "check.md");
  await Deno.writeTextFile(f, text.slice(text.indexOf("<!-- report:"), text.lastIndexOf("-->") + 3) + "\n");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--check", "--config", join(ROOT, "deno.json"), f],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return out.code === 0 ? "" : new TextDecoder().decode(out.stderr);
}

Deno.test("every section comes from its file, text outside the markers is unchanged, and deno fmt finds nothing", async () => {
  await withTempDir(async (dir) => {
    const runs = join(dir, "runs");
    await writeJson(join(runs, "gasp", "pck.json"), pckFixture());
    await writeBenchResults(dir, join(runs, "bench"));
    await writeBenchResults(dir, join(runs, "bench-val"));
    await writeEvalReport(dir, join(runs, "eval.json"));
    await writeJson(join(runs, "ablate", "ablation.json"), ablationFixture());
    const readme = join(dir, "README.md");
    await Deno.writeTextFile(readme, README);
    const r = await buildReadme(readme, { runs, cwd: dir });
    assert.ok(r.stale);
    assert.equal(outside(r.after), outside(README), "text outside the markers changed");
    assert.ok(r.after.endsWith("The end, no newline at the end of the file."));
    assert.doesNotMatch(r.after, /old numbers/);
    // Correspondence: pck.json's rows and the eval report's sources, each with its file and command.
    assert.match(r.after, new RegExp(`Source: \`${runs}/gasp/pck.json\`, written by \`deno task train\``));
    assert.match(
      r.after,
      /\| after GASP +\| full head embeddings +\| 1 +\| 73\.4 % +\| 71\.2 % +\| 0\.550 +\| 12\.7 % +\|/,
    );
    assert.match(r.after, /Held-out QA L_LM: base 0\.7182 → after GASP 0\.5191 \(sft-general control 0\.6000\)\./);
    // The control's sources between before and after, and every multi-layer source per layer (all / moved).
    assert.match(r.after, /\| sft-general control \| sft-general hidden states \| 1 +\| 20\.0 % +\| 19\.0 % +\|/);
    assert.match(r.after, /\| after GASP +\| full hidden states +\| 15\.0 % \/ 14\.0 % \| 30\.0 % \/ 28\.0 % \|/);
    assert.ok(
      r.after.indexOf("| sft-general control | sft-general Q/K") < r.after.indexOf("| after GASP          | full Q/K"),
    );
    const ev = JSON.parse(await Deno.readTextFile(join(runs, "eval.json"))) as EvalReport;
    const stationary = ev.checkpoints.find((c) => c.name === "stationary")!;
    assert.match(r.after, new RegExp(`\\| stationary +\\| stationary \\| 0 +\\| ${pct(stationary.peak.pck)} ± `));
    assert.match(r.after, /written by\s+`deno task eval --features stationary --features random --data data --json /);
    // Benchmarks: results.json's scores, intervals, below-majority mark and McNemar p (0.002 for 10 vs 0).
    const bench = JSON.parse(await Deno.readTextFile(join(runs, "bench", "results.json")));
    const ci = bench.suites[0].checkpoints.gasp.ci95;
    assert.match(r.after, new RegExp(`100\\.0 % \\[${pct(ci.lo).replace(".", "\\.")}, 100\\.0 %\\]`));
    assert.match(r.after, /\| blink +\| 40 +\| overall +\| 50\.0 % +\| 75\.0 % +\| 0\.0 % \[[^\]]+\] ↓/);
    assert.match(r.after, /\+25\.0 vs sft-general \(p 0\.002\)/);
    // The second draw: its own file, the same table (bench's own fixture has no synthetic suite, so no seed).
    assert.match(r.after, /A second draw of the same suites: the same generators and item counts/);
    assert.match(r.after, new RegExp(`Source: \`${runs}/bench-val/results.json\`, written by \`deno task bench`));
    // Ablation: the schema's columns, every attention scalar, an extra numeric field, the bench delta with its p.
    assert.match(
      r.after,
      new RegExp(`Source: \`${runs}/ablate/ablation.json\`, written by\\s+\`deno task ablate --rows`),
    );
    assert.match(r.after, /\| run +\| what +\| overrides +\| steps \| head PCK@2 all \| head moved \| Q\/K all \|/);
    assert.match(
      r.after,
      /\| ownFrameShare \| trueMatchAttention \| held-out L_LM \| gradNorm \| Δ synthetic-counting \(p\) +\|/,
    );
    assert.match(
      r.after,
      /\| video +\| frames as one video in M-RoPE \| data\.framePositions="video" \| 120 +\| 30\.0 % +\| 27\.0 % +\| 15\.4 % +\| 16\.5 % +\| 19\.0 % +\| 18\.4 % +\| 25\.0 % +\| 23\.0 % +\| 0\.6600 +\| 0\.0018 +\| 0\.5191 +\| 1\.250 +\| \+3\.1 \(p 0\.200\) +\|/,
    );
    assert.match(r.after, /\| sft-general \| general QA only +\| +\| 120 +\| no heads +\| +\|/);
    assert.match(r.after, /50\.0 % \(control\)/);
    assert.doesNotMatch(r.after, /lambdaC/, "the resolved config is not a metric");
    // Targets: heads 71.2 % ≥ 70 % met; ρ 0.55 met; base ρ from the base Q/K of pck.json (−0.2) met; one suite only.
    assert.match(
      r.after,
      /\| GASP peak PCK@2 on moved pairs ≥ 70 % +\| 71\.2 % \(full head embeddings, layer 1;[^|]*\| yes/,
    );
    assert.match(r.after, /\| GASP ρ ≥ \+0\.5 +\| 0\.550 [^|]*\| yes/);
    assert.match(r.after, /\| base ρ < 0 +\| -0\.200 [^|]*\| yes/);
    assert.match(
      r.after,
      /\| GASP − sft-general > 0 with p < 0\.05 on ≥ 2 suites \| 1 of 1 suites \(blink p 0\.002\)[^|]*\| no/,
    );
    assert.equal(await fmtClean(dir, r.after), "");
    // Rebuilding from the same files changes nothing.
    await Deno.writeTextFile(readme, r.after);
    assert.equal((await buildReadme(readme, { runs, cwd: dir })).stale, false);
  });
});

Deno.test("absent reports: each section says which command makes it, and every target is not measured", async () => {
  await withTempDir(async (dir) => {
    const readme = join(dir, "README.md");
    await Deno.writeTextFile(readme, README);
    const { after } = await buildReadme(readme, { runs: "runs", cwd: dir });
    assert.match(after, /_Not run yet: `deno task train` \(writes `runs\/gasp\/pck\.json`\)\._/);
    assert.match(after, /_Not run yet: `deno task bench` \(writes `runs\/bench\/results\.json`\)\._/);
    assert.ok(
      after.replace(/\s+/g, " ").includes(
        "_Not run yet: `deno task bench --model runs/base --synthetic-seed 7 --out runs/bench-val` " +
          "(writes `runs/bench-val/results.json`)._",
      ),
    );
    assert.match(after, /_Not run yet: `deno task ablate` \(writes `runs\/ablate\/ablation\.json`\)\._/);
    assert.match(after, /Not run yet: `deno task eval --model runs\/base --model runs\/gasp --json runs\/eval\.json`/);
    assert.equal((after.match(/\| not measured \|/g) ?? []).length, 6);
    assert.doesNotMatch(after, /\d+\.\d %/, "a number appeared without a file");
    assert.equal(outside(after), outside(README));
    assert.equal(await fmtClean(dir, after), "");
  });
});

Deno.test("a malformed report is an error naming the file and the field", async () => {
  await withTempDir(async (dir) => {
    const readme = join(dir, "README.md");
    await Deno.writeTextFile(readme, README);
    const runs = join(dir, "runs");
    const bad = pckFixture() as Record<string, unknown>;
    (bad.after as Record<string, unknown>[])[1].pckMoved = "71 %";
    await writeJson(join(runs, "gasp", "pck.json"), bad);
    await assert.rejects(() => buildReadme(readme, { runs }), (e: Error) => {
      assert.match(e.message, new RegExp(`${runs}/gasp/pck.json: field after\\.1\\.pckMoved: expected pck\\.json`));
      return true;
    });
    await Deno.writeTextFile(join(runs, "gasp", "pck.json"), "{ not json");
    await assert.rejects(() => buildReadme(readme, { runs }), /pck\.json: field \(file\): expected JSON/);
    await Deno.remove(join(runs, "gasp", "pck.json"));
    await writeJson(join(runs, "eval.json"), { schemaVersion: 1, checkpoints: [] });
    await assert.rejects(() => buildReadme(readme, { runs }), /eval\.json: field schemaVersion: .*schema 2 or later/);
    await Deno.remove(join(runs, "eval.json"));
    const abl = ablationFixture() as Record<string, unknown>;
    delete (abl.rows as Record<string, unknown>[])[2].qkCentred;
    await writeJson(join(runs, "ablate", "ablation.json"), abl);
    await assert.rejects(() => buildReadme(readme, { runs }), /ablation\.json: field rows\.2\.qkCentred: expected/);
    await writeJson(join(runs, "ablate", "ablation.json"), { ...abl, schema: "other/1" });
    await assert.rejects(() => buildReadme(readme, { runs }), /ablation\.json: field schema: expected/);
  });
});

Deno.test("markers: only the bodies change; a missing, repeated or reversed marker names itself", () => {
  const text = "a\n<!-- report:x -->\nold\n<!-- /report:x -->\nb  \n";
  assert.equal(replaceSections(text, { x: "new" }, "R.md"), "a\n<!-- report:x -->\n\nnew\n\n<!-- /report:x -->\nb  \n");
  assert.throws(() => replaceSections(text, { y: "new" }, "R.md"), /R\.md: field <!-- report:y -->/);
  assert.throws(() => replaceSections(text + "<!-- report:x -->", { x: "" }, "R.md"), /more than once/);
  assert.throws(
    () => replaceSections("<!-- /report:x -->\n<!-- report:x -->", { x: "" }, "R.md"),
    /closing marker comes first/,
  );
});

Deno.test("targets: base Q/K at N = 16 judged only on a 16 × 16 grid; Y of a chance-level read-out is not met", () => {
  const source = (name: string, pck: number, chanceZ: number, y24: number) => ({
    name,
    kind: "checkpoint",
    numLayers: 1,
    numSequences: 200,
    peak: { layer: 0, pck, pckMoved: pck, rho: -0.1 },
    chance: { pck: 0.034 },
    layers: [{ layer: 0, pck, pckMoved: pck, rho: -0.1, chanceZ }],
    robustness: { split: "robustness", numSequences: 16, deltaT: [1, 24], bestLayer: { layer: 0, value: [1, y24] } },
  });
  const report = (grid: number, checkpoints: ReturnType<typeof source>[]): EvalReport => ({
    schemaVersion: 2,
    config: { data: "d", threshold: { delta: 2, inclusive: false }, maxDeltaT: 24 },
    heldout: {
      grid: { rows: grid, cols: grid },
      numPairs: 10,
      numSequences: 2,
      stationaryPck: 0.1,
      stationaryPckStd: 0,
      movedFraction: 0.9,
      chancePck: 0.034,
    },
    checkpoints,
  });
  const inputs = {
    pck: null,
    pckFile: "p",
    eval: report(8, [source("base Q/K", 0.2, 10, 0.5), source("gasp Q/K", 0.14, 1.9, 1.5)]),
    evalFile: "e",
    eval16: report(16, [source("base Q/K", 0.045, 2, 1)]),
    eval16File: "e16",
    bench: null,
    benchFile: "b",
    base: "base",
    gasp: "gasp",
    control: "sft-general",
  };
  const rows = targetRows(inputs);
  assert.equal(rows[0].met, "yes");
  assert.match(rows[0].reached, /^4\.5 % \(layer 0, chance 3\.4 %; e16\)$/);
  assert.equal(rows[2].met, "no", "Y 1.5 of a read-out at chance (z 1.9) must not count");
  assert.match(rows[2].reached, /at chance level \(z = 1\.9 < 3\)/);
  assert.equal(rows[3].met, "yes"); // base ρ −0.1 from the eval report
  const at8 = targetRows({ ...inputs, eval16: report(8, [source("base Q/K", 0.045, 2, 1)]) });
  assert.equal(at8[0].met, "not measured");
  assert.match(at8[0].reached, /on a 8 × 8 grid, not 16 × 16/);
  const robust = targetRows({ ...inputs, eval: report(8, [source("gasp Q/K", 0.5, 40, 0.9)]) });
  assert.equal(robust[2].met, "yes");
});

Deno.test("ablation columns: every attention scalar, extra numeric field and suite of every row, first seen first", () => {
  const a = AblationSchema.parse(ablationFixture());
  assert.deepEqual(ablationColumns(a), {
    attention: ["ownFrameShare", "trueMatchAttention"],
    extra: ["gradNorm"],
    suites: ["synthetic-counting"],
  });
});

Deno.test("the recorded command line is shown once, whether argv holds `deno task X` or only the flags", () => {
  assert.equal(
    commandFrom(["deno", "task", "bench", "--per-suite", "300"], "bench"),
    "deno task bench --per-suite 300",
  );
  assert.equal(commandFrom(["--rows", "full"], "ablate"), "deno task ablate --rows full");
  assert.equal(commandFrom(null, "bench"), "deno task bench");
});
