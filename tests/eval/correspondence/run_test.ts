import assert from "node:assert/strict";
import { join } from "node:path";
import { decode } from "fast-png";
import type { LayerFeatureSource } from "../../../core/analysis/features.ts";
import { MotionAccumulator } from "../../../core/analysis/motion.ts";
import { ConfigError } from "../../../core/errors.ts";
import { writeShards } from "../../../core/scene/shards.ts";
import { oracleFeatures } from "../../../eval/correspondence/oracle.ts";
import type { CorrespondenceReport } from "../../../eval/correspondence/report.ts";
import { runCorrespondenceEval } from "../../../eval/correspondence/run.ts";
import { syntheticSequence, syntheticSequences } from "../../core/analysis/synthetic_sequences.ts";
import { makeToyRuns } from "../../core/model/folder/_runs.ts";
import { toySequences } from "../../train/_toy.ts";

/**
 * A stand-in model in memory: layer 0 = oracle features, layer 1 = all zeros (every argmax ties → patch 0, constant
 * confidence → ρ undefined), layer 2 = oracle keys with shuffled query rows (poor matching).
 */
const fakeModel = (name: string): LayerFeatureSource => ({
  name,
  numLayers: 3,
  features: (seq) => {
    const o = oracleFeatures(seq);
    const zeros = new Float32Array(o.q[0].length);
    const shuffled = o.q[0].slice();
    const P = seq.grid.rows * seq.grid.cols;
    for (let p = 0; p < P; p++) {
      shuffled.set(o.q[0].subarray(((p * 7 + 3) % P) * o.dim, ((p * 7 + 3) % P + 1) * o.dim), p * o.dim);
    }
    return Promise.resolve({ ...o, q: [o.q[0], zeros, shuffled], k: [o.k[0], zeros, o.k[0]] });
  },
});

async function fixture(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "gasp-eval-" });
  await writeShards(join(dir, "data"), {
    heldout: syntheticSequences(6, { patchSize: 14, maxStep: 4 }),
    robustness: [syntheticSequence({ seed: 77, frames: 25, maxStep: 1, patchSize: 14 })],
  }, { seed: 0, generator: { kind: "test" } });
  return dir;
}

/** Parses the point marks' aria labels of an SVG: "x: 1; y title: 0.5; checkpoint: name". */
function svgPoints(svg: string, yTitle: string): { x: number; y: number; checkpoint: string }[] {
  const out: { x: number; y: number; checkpoint: string }[] = [];
  const re = new RegExp(`aria-label="[^":;]+: ([-\\d.]+); ${yTitle}: ([−\\d.e-]+); checkpoint: ([^";]+)`, "g");
  for (const m of svg.matchAll(re)) out.push({ x: Number(m[1]), y: Number(m[2].replace("−", "-")), checkpoint: m[3] });
  return out;
}

Deno.test("eval run writes report.json, summary.md and Figure 3 SVG/PNG whose data match the report", async () => {
  const dir = await fixture();
  try {
    const out = join(dir, "out");
    const { files } = await runCorrespondenceEval({
      data: join(dir, "data"),
      out,
      json: join(dir, "copy.json"),
      features: ["oracle", "random"],
      checkpoints: [],
      sources: [fakeModel("ckpt-a")],
      seed: 5,
    });
    const text = await Deno.readTextFile(join(out, "report.json"));
    assert.equal(await Deno.readTextFile(join(dir, "copy.json")), text);
    const report: CorrespondenceReport = JSON.parse(text);
    assert.deepEqual(report.checkpoints.map((c) => c.name), ["oracle", "random", "ckpt-a"]);
    const [oracle, random, ckpt] = report.checkpoints;
    assert.ok(oracle.peak.pck! >= 0.99, `oracle ${oracle.peak.pck}`);
    assert.equal(random.numLayers, 4);
    assert.equal(ckpt.peak.layer, 0);
    assert.equal(ckpt.layers[1].rho, null); // NaN → null in JSON
    assert.ok(ckpt.layers[2].pck! < ckpt.layers[0].pck!);
    // robustness comes from the robustness split: every Δt 1…24 once per track
    assert.equal(oracle.robustness.split, "robustness");
    assert.equal(oracle.robustness.deltaT.length, 24);
    assert.ok(oracle.robustness.count.every((n) => n > 0));
    assert.equal(oracle.robustness.bestLayer.value[0], 1);

    const md = await Deno.readTextFile(join(out, "summary.md"));
    assert.match(md, /\| ckpt-a \| checkpoint \| 3 \| 6 \| 0 \|/);
    assert.match(md, /\| 1 \| [\d.]+ \| [\d.]+ \| [\d.—]+ \| [\d.—]+ \| — \|/); // ckpt-a layer 1: ρ undefined

    for (
      const [panel, yTitle, pick, scale] of [
        ["pck", "PCK@2 \\(%\\)", (l: CorrespondenceReport["checkpoints"][0]["layers"][0]) => l.pck, 100],
        ["rho", "Pearson ρ", (l: CorrespondenceReport["checkpoints"][0]["layers"][0]) => l.rho, 1],
      ] as const
    ) {
      const spec = JSON.parse(await Deno.readTextFile(join(out, `fig3_${panel}.vl.json`)));
      const rows: { checkpoint: string; layer: number; value: number }[] = spec.data.values;
      // Curves: the multi-layer sources; the oracle (one layer) is a reference line in (a), absent from (b).
      const curves = report.checkpoints.filter((c) => c.kind !== "oracle");
      const expected = curves.flatMap((c) => c.layers.filter((l) => pick(l) !== null).map((l) => ({ c, l })));
      assert.equal(rows.length, expected.length);
      for (const { c, l } of expected) {
        const row = rows.find((r) => r.checkpoint === c.name && r.layer === l.layer)!;
        assert.ok(Math.abs(row.value - pick(l)! * scale) < 1e-9);
      }
      const svg = await Deno.readTextFile(join(out, `fig3_${panel}.svg`));
      assert.ok(svg.startsWith("<svg"));
      for (const name of ["random", "ckpt-a"]) assert.ok(svg.includes(`>${name}</text>`), `legend ${name}`);
      if (panel === "pck") assert.ok(svg.includes("oracle 100.0 %"), "oracle reference line");
      const pts = svgPoints(svg, yTitle);
      assert.ok(pts.length >= expected.length, `${panel}: ${pts.length} points`);
      for (const p of pts) {
        const l = report.checkpoints.find((c) => c.name === p.checkpoint)!.layers[p.x];
        assert.ok(
          Math.abs(p.y - pick(l)! * scale) < 1e-9,
          `${panel} ${p.checkpoint} layer ${p.x}: ${p.y} vs ${pick(l)}`,
        );
      }
      const png = decode(await Deno.readFile(join(out, `fig3_${panel}.png`)));
      const [w, h] = [Number(svg.match(/width="(\d+)"/)![1]), Number(svg.match(/height="(\d+)"/)![1])];
      assert.deepEqual([png.width, png.height], [2 * w, 2 * h]);
      // the lines are drawn: some strongly coloured (non-grey) pixels exist
      let coloured = 0;
      for (let i = 0; i < png.width * png.height; i++) {
        const [r, g, b] = [png.data[i * png.channels], png.data[i * png.channels + 1], png.data[i * png.channels + 2]];
        if (Math.max(r, g, b) - Math.min(r, g, b) > 80) coloured++;
      }
      assert.ok(coloured > 500, `${panel}: ${coloured} coloured pixels`);
    }
    const rob = JSON.parse(await Deno.readTextFile(join(out, "fig3_robustness.vl.json")));
    const best = rob.data.values.filter((r: { checkpoint: string; curve: string }) =>
      r.checkpoint === "ckpt-a" && r.curve === "best layer"
    );
    assert.deepEqual(
      best.map((r: { value: number }) => r.value),
      ckpt.robustness.bestLayer.value.filter((v) => v !== null).map((v) => 100 * v!),
    );
    assert.ok(files.some((f) => f.endsWith("fig3_robustness.png")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("eval run refuses a model path that is no model (before reading data) and empty source lists", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => runCorrespondenceEval({ data: "/nonexistent", out: "/tmp/x", features: [], checkpoints: [dir] }),
      (e: unknown) => e instanceof ConfigError && e.message.includes(`${dir} is not a model`),
    );
  } finally {
    await Deno.remove(dir);
  }
  await assert.rejects(
    () => runCorrespondenceEval({ data: "/nonexistent", out: "/tmp/x", features: [], checkpoints: [] }),
    ConfigError,
  );
});

Deno.test("eval analyses models from disk (a step checkpoint, a model folder) with no injected loader", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gasp-eval-models-" });
  try {
    const runs = await makeToyRuns(dir);
    for (const r of [runs.gaspResult, runs.baseRunResult]) r.model.dispose();
    await writeShards(join(dir, "data"), { heldout: toySequences(2, 3, 4) }, { seed: 0, generator: { kind: "test" } });
    const lines: string[] = [];
    const { report } = await runCorrespondenceEval({
      data: join(dir, "data"),
      out: join(dir, "out"),
      features: [],
      checkpoints: [join(runs.gasp, "step-000001"), runs.base],
      noPng: true,
      log: (l) => lines.push(l),
    });
    assert.deepEqual(report.checkpoints.map((c) => [c.name, c.kind, c.numLayers]), [
      ["gasp@step-000001 Q/K", "checkpoint", 2],
      ["gasp@step-000001 Q/K centred", "checkpoint", 2],
      ["gasp@step-000001 hidden states", "checkpoint", 2],
      ["base Q/K", "checkpoint", 2],
      ["base Q/K centred", "checkpoint", 2],
      ["base hidden states", "checkpoint", 2],
    ]);
    assert.equal(report.checkpoints[3].path, runs.base);
    assert.ok(lines.some((l) => l.includes(`step checkpoint ${join(runs.gasp, "step-000001")}`)), lines.join("\n"));
    assert.ok(lines.some((l) => l.includes(`model folder ${runs.base}`)), lines.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report.json keeps issue 13's contract: baselines as entries, pckMoved per peak and layer, heldout block", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gasp-eval-contract-" });
  try {
    const runs = await makeToyRuns(dir);
    for (const r of [runs.gaspResult, runs.baseRunResult]) r.model.dispose();
    const seqs = toySequences(3, 3, 5);
    await writeShards(join(dir, "data"), { heldout: seqs }, { seed: 0, generator: { kind: "test" } });
    const json = join(dir, "F.json");
    await runCorrespondenceEval({
      data: join(dir, "data"),
      out: join(dir, "out"),
      json,
      features: ["stationary", "vision", "pixels"],
      checkpoints: [runs.base, join(runs.gasp, "step-000001")],
      noPng: true,
    });
    const r = JSON.parse(await Deno.readTextFile(json));
    assert.equal(r.schemaVersion, 2);
    assert.deepEqual(r.checkpoints.map((c: { name: string; kind: string }) => [c.name, c.kind]), [
      ["stationary", "stationary"],
      ["vision", "vision"],
      ["pixels", "pixels"],
      ["base Q/K", "checkpoint"],
      ["base Q/K centred", "checkpoint"],
      ["base hidden states", "checkpoint"],
      ["gasp@step-000001 Q/K", "checkpoint"],
      ["gasp@step-000001 Q/K centred", "checkpoint"],
      ["gasp@step-000001 hidden states", "checkpoint"],
    ]);
    assert.equal(r.checkpoints[1].path, runs.base); // vision: the first model's vision tower
    for (const c of r.checkpoints) {
      assert.ok(typeof c.peak.pck === "number", c.name);
      assert.ok("pckMoved" in c.peak, c.name);
      for (const l of c.layers) assert.ok("pckMoved" in l, `${c.name} layer ${l.layer}`);
    }
    // heldout: the stationary baseline of exactly these pairs, recomputed here.
    const acc = new MotionAccumulator();
    for (const s of seqs) acc.add(s);
    const m = acc.result();
    assert.deepEqual(r.heldout.grid, { rows: 2, cols: 2 });
    assert.equal(r.heldout.numPairs, m.numPairs);
    assert.ok(Math.abs(r.heldout.stationaryPck - m.stationaryPck) < 1e-12);
    assert.ok(Math.abs(r.heldout.movedFraction - m.movedFraction) < 1e-12);
    assert.equal(r.checkpoints[0].peak.pck, r.heldout.stationaryPck);
    // The models carry the attention statistics per layer.
    const base = r.checkpoints[3];
    for (const k of ["ownFrameShare", "ownFrameShareUniform", "trueMatchAttention", "qMeanNormRatio"]) {
      assert.ok(typeof base.layers[0].scalars[k] === "number", k);
    }
    const md = await Deno.readTextFile(join(dir, "out", "summary.md"));
    assert.match(md, /Stationary \("the point did not move"\) PCK/);
    assert.match(md, /\| stationary \| stationary \| 1 \| 3 \| 0 \|/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--features vision without a model is refused before any data is read", async () => {
  await assert.rejects(
    () => runCorrespondenceEval({ data: "/nonexistent", out: "/tmp/x", features: ["vision"], checkpoints: [] }),
    (e: unknown) => e instanceof ConfigError && e.message.includes("--model"),
  );
});
