import assert from "node:assert/strict";
import { join } from "node:path";
import { generateScene } from "../../../../core/scene/generate.ts";
import { chanceScores, scoreSuite } from "../../../../eval/benchmarks/suite.ts";
import { buildSyntheticSuites } from "../../../../eval/benchmarks/synthetic/build.ts";
import { cameraRing, objectPixels, renderStill, ringEye } from "../../../../eval/benchmarks/synthetic/views.ts";
import { VisualResolver } from "../../../../eval/benchmarks/visuals.ts";
import { withTempDir } from "../fixtures.ts";

Deno.test("rendered object ids are the scene description's object ids", () => {
  const scene = generateScene(3, { trajectory: "orbit" });
  const f = renderStill(scene, ringEye(scene, 0.5), cameraRing(scene).center, 48);
  const ids = new Set(scene.objects.map((o) => o.id));
  const seen = [...objectPixels(f).keys()];
  assert.ok(seen.length > 0);
  for (const id of seen) assert.ok(ids.has(id), `pixel id ${id} not in the description`);
});

Deno.test("synthetic suites are written in the real formats, read by the real loaders, deterministic and balanced", async () => {
  await withTempDir(async (dir) => {
    const o = { seed: 5, perSuite: 4, imageSize: 64, frames: 3 };
    const specs = await buildSyntheticSuites(join(dir, "a"), o);
    assert.equal(specs.length, 6);
    const resolver = new VisualResolver();
    for (const sp of specs) {
      const items = await sp.module.load(sp.path, sp.load);
      assert.equal(items.length, 4, sp.suite);
      const imgs = await resolver.resolve(items[0]);
      assert.ok(imgs.length >= 1 && imgs.every((i) => i.width === 64), sp.suite);
      // The gold answers are exact: an oracle scores 100 %; answers are spread (not all the same).
      const { scores } = scoreSuite(sp.module, items, new Map(items.map((i) => [i.id, i.gold])), sp.suite);
      assert.equal(scores.strict.overall, 1, sp.suite);
      if (sp.suite !== "synthetic-counting") assert.ok(new Set(items.map((i) => i.gold)).size >= 2, sp.suite);
      assert.ok(scores.majorityBaseline.overall < 1, sp.suite);
    }
    const again = await buildSyntheticSuites(join(dir, "b"), o);
    for (const [k, sp] of again.entries()) {
      const a = await specs[k].module.load(specs[k].path, specs[k].load);
      const b = await sp.module.load(sp.path, sp.load);
      assert.deepEqual(b.map((i) => [i.prompt, i.gold]), a.map((i) => [i.prompt, i.gold]), sp.suite);
    }
  });
});

Deno.test("every multiple-choice suite's gold letters are balanced per option count, so majority = chance", async () => {
  await withTempDir(async (dir) => {
    const specs = await buildSyntheticSuites(dir, { seed: 11, perSuite: 24, imageSize: 64, frames: 3 });
    for (const sp of specs) {
      if (sp.suite === "synthetic-counting") continue; // numeric answers: no letters
      const items = await sp.module.load(sp.path, sp.load);
      // Among the items with k options, each of the k letters is gold equally often (± 1: the cycle's last lap).
      const byCount = new Map<number, number[]>();
      for (const it of items) {
        const letters = Object.keys(it.choices).sort();
        const tally = byCount.get(letters.length) ?? letters.map(() => 0);
        tally[letters.indexOf(it.gold)]++;
        byCount.set(letters.length, tally);
      }
      for (const [k, tally] of byCount) {
        assert.ok(Math.max(...tally) - Math.min(...tally) <= 1, `${sp.suite}, ${k} options: gold letters ${tally}`);
      }
      const oracle = new Map(items.map((i) => [i.id, i.gold]));
      const majority = scoreSuite(sp.module, items, oracle, sp.suite).scores.majorityBaseline.overall;
      const chance = chanceScores(sp.module, items).overall;
      assert.ok(majority >= chance - 1e-9, `${sp.suite}: majority ${majority} < chance ${chance}`);
      assert.ok(
        majority <= chance + byCount.size / items.length + 1e-9,
        `${sp.suite}: majority ${majority}, chance ${chance}`,
      );
    }
  });
});
