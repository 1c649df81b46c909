import assert from "node:assert/strict";
import { join } from "node:path";
import { decode } from "fast-png";
import { appendConfigRecord, appendStepMetrics, type StepMetrics } from "../../train/metrics_log.ts";
import { LOSS_SERIES, runSteps, writeLossPlot } from "../../train/loss_plot.ts";

const step = (s: number, total: number): StepMetrics => ({
  step: s,
  loss: { total, lm: total / 2, corr: total / 4, depth: total / 8 },
  gradNorm: 1,
  lr: 1e-3 * s,
  tokens: 10,
  stepTimeS: 0.1,
  elapsedS: s / 10,
});

Deno.test("writeLossPlot draws every loss term and the lr of each step from metrics.jsonl into loss.svg and loss.png", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const metrics = join(dir, "metrics.jsonl");
    await appendConfigRecord(metrics, { preset: "full" });
    for (const s of [1, 2, 3]) await appendStepMetrics(metrics, step(s, 10 - s));
    // a resume recomputes step 3: the later record is the one drawn
    await appendConfigRecord(metrics, { preset: "full" });
    await appendStepMetrics(metrics, step(3, 5));
    assert.deepEqual((await runSteps(dir)).map((m) => [m.step, m.loss.total]), [[1, 9], [2, 8], [3, 5]]);

    const { files, pngError } = await writeLossPlot(dir, "toy run");
    assert.equal(pngError, undefined);
    assert.deepEqual(files, [join(dir, "loss.svg"), join(dir, "loss.png")]);
    const svg = await Deno.readTextFile(join(dir, "loss.svg"));
    assert.ok(svg.startsWith("<svg") && svg.includes("toy run"));
    for (const name of LOSS_SERIES) assert.ok(svg.includes(`>${name}</text>`), `legend ${name}`);
    // every (step, term) point is drawn with its value, and the lr panel has one point per step (a line's path
    // carries its first point's label too, hence the sets)
    const labels = (re: RegExp) => [...new Set([...svg.matchAll(re)].map((m) => m[0]))];
    const points = labels(/aria-label="optimizer step: (\d+); loss: ([\d.]+); term: (L_\w+)"/g)
      .map((l) => l.match(/step: (\d+); loss: ([\d.]+); term: (L_\w+)/)!)
      .map((m) => [Number(m[1]), m[3], Number(m[2])]);
    assert.deepEqual(
      points.sort(),
      [
        [1, "L_LM", 4.5],
        [1, "L_corr", 2.25],
        [1, "L_depth", 1.125],
        [1, "L_total", 9],
        [2, "L_LM", 4],
        [2, "L_corr", 2],
        [2, "L_depth", 1],
        [2, "L_total", 8],
        [3, "L_LM", 2.5],
        [3, "L_corr", 1.25],
        [3, "L_depth", 0.625],
        [3, "L_total", 5],
      ].sort(),
    );
    assert.deepEqual(labels(/aria-label="optimizer step: \d+; lr: [^"]+"/g), [
      'aria-label="optimizer step: 1; lr: 1.0e-3"',
      'aria-label="optimizer step: 2; lr: 2.0e-3"',
      'aria-label="optimizer step: 3; lr: 3.0e-3"',
    ]);
    const png = decode(await Deno.readFile(join(dir, "loss.png")));
    assert.ok(png.width > 500 && png.height > 300, `${png.width}×${png.height}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
