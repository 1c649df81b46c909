import assert from "node:assert/strict";
import { join } from "node:path";
import {
  appendConfigRecord,
  appendStepMetrics,
  formatDuration,
  formatProgressLine,
  readMetrics,
  type StepMetrics,
  truncateMetricsAfter,
} from "../../train/metrics_log.ts";

const step = (n: number): StepMetrics => ({
  step: n,
  loss: { total: 2 + n, lm: 1, corr: 0.5, depth: 0.25 },
  gradNorm: 0.7,
  lr: 1e-4,
  tokens: 1000,
  stepTimeS: 0.5,
  elapsedS: n * 0.5,
});

Deno.test("metrics.jsonl holds the config then one record per step with every loss term, grad norm, lr and time", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "metrics.jsonl");
    await appendConfigRecord(path, { steps: 3 });
    for (let i = 1; i <= 3; i++) await appendStepMetrics(path, step(i));
    const lines = (await Deno.readTextFile(path)).trim().split("\n");
    assert.equal(lines.length, 4);
    const recs = await readMetrics(path);
    assert.equal(recs[0].type, "config");
    const s = recs[2];
    assert(s.type === "step");
    assert.deepEqual(s.loss, { total: 4, lm: 1, corr: 0.5, depth: 0.25 });
    assert.equal(s.gradNorm, 0.7);
    assert.equal(s.lr, 1e-4);
    assert(!Number.isNaN(Date.parse(s.time)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resume truncation drops records after the checkpoint step and a torn last line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "metrics.jsonl");
    await appendConfigRecord(path, {});
    for (let i = 1; i <= 5; i++) await appendStepMetrics(path, step(i));
    await Deno.writeTextFile(path, '{"type":"step","st', { append: true }); // killed mid-append
    assert.equal((await readMetrics(path)).length, 6);
    await truncateMetricsAfter(path, 3);
    const recs = await readMetrics(path);
    assert.deepEqual(recs.map((r) => r.type === "step" ? r.step : 0), [0, 1, 2, 3]);
    await truncateMetricsAfter(join(dir, "absent.jsonl"), 3); // no file: nothing to do
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("progress line shows step, loss parts, lr, tokens/s and ETA", () => {
  const line = formatProgressLine({
    step: 120,
    totalSteps: 400,
    loss: { total: 2.314, lm: 1.902, corr: 0.811, depth: 0.169 },
    lr: 3e-4,
    tokensSinceStart: 120_000,
    stepsSinceStart: 100,
    elapsedS: 100,
  });
  assert.equal(
    line,
    "step 120/400 | loss 2.3140 (lm 1.9020 corr 0.8110 depth 0.1690) | lr 3.00e-4 | 1.2k tok/s | ETA 4m40s",
  );
  assert.equal(formatDuration(45), "45s");
  assert.equal(formatDuration(3725), "1h02m");
  assert.equal(formatDuration(NaN), "--");
});
