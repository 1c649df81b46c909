/**
 * deno task bench:data — data pipeline throughput (bounded to about a minute):
 *   render:   frames/s at 224² and 672² on 1 and 2 render workers (after a warm-up frame per worker);
 *   annotate: App. A sequences/s (F = 8) at 224² (8 × 8 grid) and 672² (24 × 24), on the calling thread;
 *   pipeline: end-to-end held-out sequences/s at 224² (render + annotate + shard encoding), 1 and 2 workers.
 */
import { annotateSequence, GRID_24, GRID_8, sampleSequenceFrames } from "../core/scene/annotate.ts";
import { generateScene, RenderPool, renderVideo } from "../core/scene/generate.ts";
import { encodeRecord } from "../core/scene/record.ts";
import { Rng } from "../core/random.ts";
import type { Frame, PatchGrid } from "../core/scene/types.ts";

const scene = generateScene(2024, { trajectory: "orbit" });
const rows: string[] = [];
const report = (what: string, value: number, unit: string) => {
  const line = `${what.padEnd(44)} ${value.toFixed(2).padStart(9)} ${unit}`;
  rows.push(line);
  console.log(line);
};

async function renderRate(side: number, workers: number, frames: number): Promise<{ rate: number; out: Frame[] }> {
  const pool = new RenderPool(workers);
  try {
    await renderVideo(scene, scene.trajectory, { width: side, height: side, frames: workers, pool }); // warm-up
    const idx = Array.from({ length: frames }, (_, k) => (k * 7) % 96);
    const t0 = performance.now();
    const out = await renderVideo(scene, scene.trajectory, { width: side, height: side, frames: idx, pool });
    return { rate: frames / ((performance.now() - t0) / 1000), out };
  } finally {
    pool.close();
  }
}

function annotateRate(frames: Frame[], grid: PatchGrid, minSeconds: number): number {
  const rng = new Rng(1);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minSeconds * 1000) {
    const idx = rng.shuffle(frames.map((_, i) => i)).slice(0, 8); // a different anchor and order each time
    annotateSequence(idx.map((i) => frames[i]), idx, grid, rng);
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

console.log(`bench:data on ${navigator.hardwareConcurrency} logical CPUs (shared machine: numbers vary with load)`);
const r224: Frame[][] = [];
for (const workers of [1, 2]) {
  const { rate, out } = await renderRate(224, workers, 24);
  r224.push(out);
  report(`render 224² frames/s, ${workers} worker${workers > 1 ? "s" : ""}`, rate, "frames/s");
}
let f672: Frame[] = [];
for (const workers of [1, 2]) {
  const { rate, out } = await renderRate(672, workers, workers === 1 ? 4 : 8);
  f672 = out;
  report(`render 672² frames/s, ${workers} worker${workers > 1 ? "s" : ""}`, rate, "frames/s");
}
report("annotate 224² (8×8, F=8) sequences/s", annotateRate(r224[1], GRID_8, 3), "seq/s");
report("annotate 672² (24×24, F=8) sequences/s", annotateRate(f672, GRID_24, 3), "seq/s");

for (const workers of [1, 2]) {
  const pool = new RenderPool(workers);
  try {
    await renderVideo(scene, scene.trajectory, { width: 224, height: 224, frames: workers, pool });
    const rng = new Rng(7);
    const t0 = performance.now();
    const n = 3;
    for (let s = 0; s < n; s++) {
      const idx = sampleSequenceFrames(rng, 96, 8, 48);
      const frames = await renderVideo(scene, scene.trajectory, { width: 224, height: 224, frames: idx, pool });
      encodeRecord(annotateSequence(frames, idx, GRID_8, rng));
    }
    report(
      `pipeline 224² held-out sequences/s, ${workers} worker${workers > 1 ? "s" : ""}`,
      n / ((performance.now() - t0) / 1000),
      "seq/s",
    );
  } finally {
    pool.close();
  }
}
