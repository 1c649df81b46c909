/**
 * deno task bench:data — data pipeline throughput (bounded to about a minute):
 *   render:   frames/s at 224² and 672² on 1 and 2 render workers (after a warm-up frame per worker);
 *   annotate: App. A sequences/s (F = 8) at 224² (8 × 8 grid) and 672² (24 × 24), on the calling thread;
 *   pipeline: end-to-end held-out sequences/s at 224² (render + annotate + shard encoding), 1 and 2 workers.
 * Each line also gives the process CPU time per item (all threads): on a machine shared with other jobs the wall
 * rates drop and the 2-worker speed-up vanishes, while CPU time per item stays close to the intrinsic cost.
 */
import process from "node:process";
import { defineCommand, runCommand } from "../core/cli.ts";
import { annotateSequence, GRID_24, GRID_8, sampleSequenceFrames } from "../core/scene/annotate.ts";
import { generateScene, RenderPool, renderVideo } from "../core/scene/generate.ts";
import { encodeRecord } from "../core/scene/record.ts";
import { Rng } from "../core/random.ts";
import type { Frame, PatchGrid } from "../core/scene/types.ts";

const cmd = defineCommand({
  name: "bench:data",
  summary: "Data pipeline throughput: render, App. A annotation and end-to-end shard encoding (about a minute).",
  flags: {},
});

let scene: ReturnType<typeof generateScene>;
const rows: string[] = [];
const report = (what: string, value: number, unit: string, cpuMsPerItem: number) => {
  const line = `${what.padEnd(44)} ${value.toFixed(2).padStart(9)} ${unit.padEnd(9)} ${
    cpuMsPerItem.toFixed(1).padStart(8)
  } CPU-ms each`;
  rows.push(line);
  console.log(line);
};

function cpuMs(since: { user: number; system: number }): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

async function renderRate(
  side: number,
  workers: number,
  frames: number,
): Promise<{ rate: number; cpu: number; out: Frame[] }> {
  const pool = new RenderPool(workers);
  try {
    await renderVideo(scene, scene.trajectory, { width: side, height: side, frames: workers, pool }); // warm-up
    const idx = Array.from({ length: frames }, (_, k) => (k * 7) % 96);
    const t0 = performance.now(), c0 = process.cpuUsage();
    const out = await renderVideo(scene, scene.trajectory, { width: side, height: side, frames: idx, pool });
    return { rate: frames / ((performance.now() - t0) / 1000), cpu: cpuMs(c0) / frames, out };
  } finally {
    pool.close();
  }
}

function annotateRate(frames: Frame[], grid: PatchGrid, minSeconds: number): [number, number] {
  const rng = new Rng(1);
  let n = 0;
  const t0 = performance.now(), c0 = process.cpuUsage();
  while (performance.now() - t0 < minSeconds * 1000) {
    const idx = rng.shuffle(frames.map((_, i) => i)).slice(0, 8); // a different anchor and order each time
    annotateSequence(idx.map((i) => frames[i]), idx, grid, rng);
    n++;
  }
  return [n / ((performance.now() - t0) / 1000), cpuMs(c0) / n];
}

await runCommand(cmd, Deno.args, async () => {
  scene = generateScene(2024, { trajectory: "orbit" });
  console.log(`bench:data on ${navigator.hardwareConcurrency} logical CPUs (shared machine: numbers vary with load)`);
  const r224: Frame[][] = [];
  for (const workers of [1, 2]) {
    const { rate, cpu, out } = await renderRate(224, workers, 24);
    r224.push(out);
    report(`render 224² frames/s, ${workers} worker${workers > 1 ? "s" : ""}`, rate, "frames/s", cpu);
  }
  let f672: Frame[] = [];
  for (const workers of [1, 2]) {
    const { rate, cpu, out } = await renderRate(672, workers, 8);
    f672 = out;
    report(`render 672² frames/s, ${workers} worker${workers > 1 ? "s" : ""}`, rate, "frames/s", cpu);
  }
  {
    const [r8, c8] = annotateRate(r224[1], GRID_8, 3);
    report("annotate 224² (8×8, F=8) sequences/s", r8, "seq/s", c8);
    const [r24, c24] = annotateRate(f672, GRID_24, 3);
    report("annotate 672² (24×24, F=8) sequences/s", r24, "seq/s", c24);
  }

  for (const workers of [1, 2]) {
    const pool = new RenderPool(workers);
    try {
      await renderVideo(scene, scene.trajectory, { width: 224, height: 224, frames: workers, pool });
      const rng = new Rng(7);
      const t0 = performance.now(), c0 = process.cpuUsage();
      const n = 4;
      for (let s = 0; s < n; s++) {
        const idx = sampleSequenceFrames(rng, 96, 8, 48);
        const frames = await renderVideo(scene, scene.trajectory, { width: 224, height: 224, frames: idx, pool });
        encodeRecord(annotateSequence(frames, idx, GRID_8, rng));
      }
      report(
        `pipeline 224² held-out sequences/s, ${workers} worker${workers > 1 ? "s" : ""}`,
        n / ((performance.now() - t0) / 1000),
        "seq/s",
        cpuMs(c0) / n,
      );
    } finally {
      pool.close();
    }
  }
});
