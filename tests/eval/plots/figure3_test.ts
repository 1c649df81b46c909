import assert from "node:assert/strict";
import type { CheckpointReport, CorrespondenceReport } from "../../../eval/correspondence/report.ts";
import {
  figure3Specs,
  layerRows,
  pckReferenceRows,
  robustnessReferenceRows,
  robustnessRows,
} from "../../../eval/plots/figure3.ts";
import { loadPlotFont, renderSvg, svgToPng } from "../../../core/plot/render.ts";

function checkpoint(
  name: string,
  pck: (number | null)[],
  rho: (number | null)[],
  kind: CheckpointReport["kind"] = "checkpoint",
): CheckpointReport {
  return {
    name,
    kind,
    numLayers: pck.length,
    numSequences: 2,
    numPredictions: 10,
    featureDim: 4,
    confidence: { kind: "scaledDot", scale: 0.5 },
    grid: { rows: 8, cols: 8, patchSize: 28 },
    peak: {
      layer: 0,
      pck: pck[0],
      pckStd: 0.1,
      pckMoved: pck[0],
      pckMovedStd: 0.1,
      rho: rho[0],
      calibrationGap: 0.1,
      robustnessAtMaxDeltaT: 0.5,
    },
    chance: { pck: 0.125, std: 0 },
    layerMean: { pck: 0.3, pckStd: 0.1, pckStdErr: 0.07, chanceZ: 3 },
    layers: pck.map((p, i) => ({
      layer: i,
      pck: p,
      pckStd: 0.1,
      pckStdErr: 0.07,
      pckMoved: p,
      pckMovedStd: 0.1,
      numMoved: 5,
      rho: rho[i],
      rhoStd: null,
      calibrationGap: null,
      meanConfCorrect: null,
      meanConfIncorrect: null,
      numCorrect: 1,
      numPredictions: 10,
      chanceZ: null,
      robustness: [1, 0.5],
      scalars: {},
    })),
    robustness: {
      split: "robustness",
      numSequences: 1,
      deltaT: [1, 2],
      count: [5, 5],
      bestLayer: { layer: 0, value: [1, null], std: [0.2, null] },
      layerMean: { value: [1, 0.4], std: [null, 0.1] },
    },
  };
}

const report: CorrespondenceReport = {
  schemaVersion: 2,
  createdAt: "2026-01-01T00:00:00Z",
  config: {
    data: "d",
    split: "heldout",
    threshold: { delta: 2, inclusive: false },
    maxDeltaT: 2,
    limit: null,
    matcher: "cpu",
    seed: 0,
  },
  heldout: {
    stationaryPck: 0.22,
    stationaryPckStd: 0.18,
    movedFraction: 0.76,
    grid: { rows: 8, cols: 8 },
    numPairs: 100,
    numSequences: 2,
    chancePck: 0.125,
    medianDisplacement: 2.8,
    byDeltaT: [],
  },
  checkpoints: [
    checkpoint("stationary", [0.22], [null], "stationary"),
    checkpoint("vision", [0.31], [0.1], "vision"),
    checkpoint("base", [0.05, 0.1, null], [-0.2, null, 0.1]),
    checkpoint("gasp", [0.4, 0.6, 0.5], [0.3, 0.6, 0.5]),
  ],
};

Deno.test("layer rows carry the models' values in % with a ±1 std band and drop undefined (null) values", () => {
  const rows = layerRows(report, "pck");
  assert.equal(rows.length, 5); // base layer 2 has no PCK; the baselines are reference lines, not rows
  const r = rows.find((x) => x.checkpoint === "gasp" && x.layer === 1)!;
  assert.deepEqual([r.value, r.lo, r.hi].map((v) => Math.round(v * 1e9) / 1e9), [60, 50, 70]);
  const rho = layerRows(report, "rho").find((x) => x.checkpoint === "base" && x.layer === 0)!;
  assert.deepEqual([rho.value, rho.lo, rho.hi], [-0.2, -0.2, -0.2]); // rhoStd null → no band
});

Deno.test("robustness rows hold the best-layer and layer-mean curves, skipping undefined gaps", () => {
  const rows = robustnessRows(report).filter((r) => r.checkpoint === "base");
  assert.deepEqual(rows.map((r) => [r.curve, r.deltaT, r.value]), [
    ["best layer", 1, 100],
    ["mean over layers", 1, 100],
    ["mean over layers", 2, 40],
  ]);
  assert.ok(robustnessRows(report).every((r) => r.checkpoint === "base" || r.checkpoint === "gasp"));
  // The baselines' Y(Δt) are reference curves (stationary, vision), in %.
  assert.deepEqual(robustnessReferenceRows(report).map((r) => [r.name, r.deltaT, r.value]), [
    ["stationary", 1, 100],
    ["vision", 1, 100],
  ]);
});

Deno.test("panel (a) draws chance, stationary and vision as labelled reference lines; shading says over how many sequences", async () => {
  assert.deepEqual(pckReferenceRows(report).map((r) => [r.name, Math.round(r.value * 1e6) / 1e6]), [
    ["chance", 12.5],
    ["stationary", 22],
    ["vision", 31],
  ]);
  const specs = figure3Specs(report);
  const svg = await renderSvg(specs.pck);
  for (const label of ["chance 12.5 %", "stationary 22.0 %", "vision 31.0 %"]) assert.ok(svg.includes(label), label);
  assert.ok(svg.includes("shading: ± 1 std across sequences over 2 sequences"));
  assert.ok(svg.includes("PCK@2 (%)"));
  assert.ok(!svg.includes(">stationary</text>"), "baselines are not legend entries");
  const rob = await renderSvg(specs.robustness);
  assert.ok(rob.includes("normalised PCK (%)") && rob.includes("over 1 sequences"));
});

Deno.test("every panel lists every checkpoint in the legend and renders to SVG and PNG", async () => {
  const specs = figure3Specs(report);
  for (const spec of Object.values(specs)) {
    const svg = await renderSvg(spec);
    assert.ok(svg.startsWith("<svg") && svg.trimEnd().endsWith("</svg>"));
    for (const name of ["base", "gasp"]) assert.ok(svg.includes(`>${name}</text>`), name);
    const png = await svgToPng(svg, 1);
    assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  }
});

Deno.test("the PNG font is a TrueType/OpenType file", async () => {
  const f = await loadPlotFont();
  const tag = new DataView(f.buffer, f.byteOffset).getUint32(0);
  assert.ok(tag === 0x00010000 || tag === 0x4f54544f || tag === 0x74727565, `font tag ${tag.toString(16)}`);
});
