/**
 * deno task data [--out DIR] [--sequences N] [--held-out N] [--robustness N] [--frames F] [--grid 8|24] [--seed S]
 *                [--workers N] [--export DIR] [--preview FILE.png]
 * Renders synthetic posed RGB-D scenes, annotates them by the paper's App. A recipe and writes train / held-out /
 * robustness shards plus manifest.json (core/scene/dataset.ts). --sequences is the train count, --frames the
 * held-out sequence length; --export and --preview take the first held-out sequence.
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { ConfigError } from "../core/errors.ts";
import { type DatasetConfig, DEFAULT_DATASET, generateDataset } from "../core/scene/dataset.ts";
import { exportSequence } from "../core/scene/export.ts";
import { writePreview } from "../core/scene/preview.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    out: { type: "string", default: "runs/data" },
    sequences: { type: "string" },
    "held-out": { type: "string" },
    robustness: { type: "string" },
    frames: { type: "string" },
    grid: { type: "string" },
    seed: { type: "string" },
    workers: { type: "string" },
    export: { type: "string" },
    preview: { type: "string" },
  },
  strict: true,
});

function int(name: string, v: string | undefined, fallback: number, min = 0): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`--${name}`, `an integer ≥ ${min}, got "${v}"`);
  return n;
}

const grid = int("grid", values.grid, DEFAULT_DATASET.grid, 8);
if (grid !== 8 && grid !== 24) throw new ConfigError("--grid", `8 or 24, got ${grid}`);
const cfg: DatasetConfig = {
  ...DEFAULT_DATASET,
  seed: int("seed", values.seed, DEFAULT_DATASET.seed),
  trainSequences: int("sequences", values.sequences, DEFAULT_DATASET.trainSequences),
  heldoutSequences: int("held-out", values["held-out"], DEFAULT_DATASET.heldoutSequences),
  robustnessSequences: int("robustness", values.robustness, DEFAULT_DATASET.robustnessSequences),
  heldoutFrames: int("frames", values.frames, DEFAULT_DATASET.heldoutFrames, 2),
  grid,
  workers: int("workers", values.workers, DEFAULT_DATASET.workers),
};
const out = resolve(values.out!);
const t0 = performance.now();
let lastPrint = 0;
console.error(
  `data: ${cfg.trainSequences} train (F ${cfg.trainFramesMin}-${cfg.trainFramesMax}), ${cfg.heldoutSequences} held-out ` +
    `(F ${cfg.heldoutFrames}), ${cfg.robustnessSequences} robustness (Δt 1-${cfg.robustnessMaxGap}) sequences, ` +
    `${grid}×${grid} grid at ${grid * 28}², seed ${cfg.seed}, ${cfg.workers} workers`,
);
const result = await generateDataset(out, cfg, (p) => {
  const now = performance.now();
  if (now - lastPrint < 3000 && p.sequencesDone !== p.sequencesTotal) return;
  lastPrint = now;
  const s = (now - t0) / 1000;
  console.error(
    `  ${p.split}: ${p.sequencesDone}/${p.sequencesTotal} sequences · ${p.framesRendered} frames rendered ` +
      `(${(p.framesRendered / s).toFixed(1)} frames/s) · ${s.toFixed(0)} s`,
  );
});
const secs = (performance.now() - t0) / 1000;
const m = result.manifest;
const bytes = m.files.reduce((a, f) => a + f.bytes, 0);
console.log(`wrote ${m.files.length} shard files (${(bytes / 2 ** 20).toFixed(1)} MiB) and manifest.json to ${out}`);
for (const [split, s] of Object.entries(m.splits)) {
  console.log(`  ${split}: ${s.sequences} sequences, ${s.frames} frames in ${s.files.length} files`);
}
console.log(`  ${result.framesRendered} frames rendered in ${secs.toFixed(1)} s`);
if (result.sample && values.export) {
  const e = await exportSequence(resolve(values.export), result.sample);
  console.log(`exported ${result.sample.id} (${e.frames} frames, ${e.tracks} tracks) to ${e.dir}`);
}
if (result.sample && values.preview) {
  await writePreview(resolve(values.preview), result.sample);
  console.log(`wrote preview of ${result.sample.id} to ${resolve(values.preview)}`);
}
