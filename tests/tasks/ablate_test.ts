/**
 * `deno task ablate` end to end on a small world (2 train sequences, 1 held-out, a toy base): two rows, 2 steps,
 * the benchmarks at 2 items per suite. It writes each row's run and row.json, ablation.json in the documented schema
 * (train/ablation.ts) with the metrics of both rows and their deltas against sft-general, prints the table, and a
 * rerun with the same settings reuses the rows instead of training them again.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runTask } from "./_task.ts";
import { makeDataAndBase } from "../train/_run_fixtures.ts";
import type { AblationReport } from "../../train/ablation.ts";
import { SYNTHETIC_SUITES } from "../../eval/benchmarks/bench_run.ts";

Deno.test("deno task ablate --rows full,sft-general --max-steps 2 writes ablation.json, the table and each run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { data, base } = await makeDataAndBase(dir);
    const args = ["--rows", "full,sft-general", "--max-steps", "2", "--data", data, "--model", base, "--out", "abl"];
    const r = await runTask("ablate", [...args, "--pck-sequences", "1", "--per-suite", "2", "--threads", "1"], dir);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const out = join(dir, "abl");
    const rep = JSON.parse(await Deno.readTextFile(join(out, "ablation.json"))) as AblationReport;
    assert.equal(rep.schema, "gasp-ablation/1");
    assert.deepEqual(rep.rows.map((x) => x.name), ["full", "sft-general"]);
    assert.equal(rep.pckSequences, 1);
    assert.equal(rep.benchPerSuite, 2);
    assert.ok(rep.heldout && rep.heldout.numPairs > 0);
    const [full, sft] = rep.rows;
    for (const x of rep.rows) {
      assert.equal(x.steps, 2);
      assert.ok(existsSync(join(out, x.name, "export", "config.json")), `${x.name}: no export`);
      assert.ok(existsSync(join(out, x.name, "row.json")));
      for (const p of [x.qk, x.qkCentred]) assert.ok(p.pck >= 0 && p.pck <= 1 && p.pckMoved >= 0 && p.pckMoved <= 1);
      const own = x.attention.ownFrameShare;
      assert.equal(own.perLayer.length, 2); // the toy base's 2 layers
      assert.ok(own.mean > 0 && own.mean < 1, `own-frame share ${own.mean}`);
      assert.ok(x.attention.trueMatchAttention.mean > 0 && x.attention.trueMatchAttentionUniform.mean > 0);
      assert.ok(Number.isFinite(x.heldoutLm) && x.heldoutLm > 0);
      assert.equal(x.bench?.control, "sft-general");
      assert.deepEqual(Object.keys(x.bench!.suites).sort(), [...SYNTHETIC_SUITES].sort());
    }
    assert.ok(full.head && full.head.pck >= 0 && full.head.pck <= 1, "full has heads");
    assert.equal(sft.head, null, "sft-general has no heads");
    assert.deepEqual(full.overrides, {});
    assert.equal(sft.preset, "sft-general");
    for (const d of Object.values(full.bench!.suites)) {
      assert.equal(d.n, 2);
      assert.ok(d.diff !== null && d.diff >= -1 && d.diff <= 1, "full has a paired diff against the control");
    }
    for (const d of Object.values(sft.bench!.suites)) assert.equal(d.diff, null);
    assert.match(r.stdout, /\| row \| steps \| head PCK@2 all \/ moved/);
    assert.match(r.stdout, /\n\| full \| 2 \| /);
    assert.match(r.stdout, /\n\| sft-general \| 2 \| – \| /);
    // Same settings again: both rows are reused (no training), and ablation.json is written again.
    const again = await runTask("ablate", [...args, "--pck-sequences", "1", "--no-bench", "--threads", "1"], dir);
    assert.equal(again.code, 0, again.stderr.slice(-2000));
    assert.match(again.stderr, /ablate: full: reusing/);
    assert.match(again.stderr, /ablate: sft-general: reusing/);
    assert.doesNotMatch(again.stderr, /^step /m);
    // A changed base at the same path (here: its config.json rewritten, same content, new mtime) is another
    // experiment: the row is trained again, not reused from a run on the old base.
    const baseConfig = join(base, "config.json");
    await Deno.writeTextFile(baseConfig, await Deno.readTextFile(baseConfig));
    await Deno.utime(baseConfig, new Date(), new Date(Date.now() + 5000));
    const rebased = await runTask("ablate", [
      ...args.slice(0, 1),
      "sft-general",
      ...args.slice(2),
      "--pck-sequences",
      "1",
      "--no-bench",
      "--threads",
      "1",
    ], dir);
    assert.equal(rebased.code, 0, rebased.stderr.slice(-2000));
    assert.match(rebased.stderr, /ablate: sft-general: replacing/);
    assert.match(rebased.stderr, /^step /m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task ablate refuses an unknown row before any work", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runTask("ablate", ["--rows", "full,nope"], dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr.trim(), /unknown row "nope"/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
