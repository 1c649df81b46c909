/**
 * deno task data — renders synthetic posed RGB-D scenes, annotates them by the paper's App. A recipe and writes
 * train / held-out / robustness shards plus manifest.json (core/scene/dataset.ts). `--help` lists the flags.
 */
import { resolve } from "node:path";
import { defineCommand, flag, runCommand } from "../core/cli.ts";
import { motionTableLines } from "../core/analysis/motion.ts";
import { type DatasetConfig, DEFAULT_DATASET, generateDataset, MAX_GRID, MOTION_FILE } from "../core/scene/dataset.ts";
import { exportSequence } from "../core/scene/export.ts";
import { writePreview } from "../core/scene/preview.ts";

const D = DEFAULT_DATASET;
const cmd = defineCommand({
  name: "data",
  summary: "Render procedural indoor scenes, annotate correspondence tracks (App. A) and write shards.",
  description: "--sequences is the train count, --frames the held-out sequence length; --export and --preview take " +
    "the first held-out sequence.",
  flags: {
    out: flag.string("output folder (shards + manifest.json)", { default: "runs/data", placeholder: "DIR" }),
    sequences: flag.int("train sequences", { default: D.trainSequences, min: 0 }),
    heldOut: flag.int("held-out sequences", { default: D.heldoutSequences, min: 0 }),
    robustness: flag.int("robustness sequences (Δt sweeps)", { default: D.robustnessSequences, min: 0 }),
    frames: flag.int("frames per held-out sequence", { default: D.heldoutFrames, min: 2 }),
    grid: flag.int("tokens per frame side N (frames render at 28·N px; 16 puts chance at δ = 2 below 5 %)", {
      default: D.grid,
      min: 2,
      max: MAX_GRID,
    }),
    seed: flag.int("dataset seed", { default: D.seed }),
    workers: flag.int("render workers", { default: D.workers, min: 0 }),
    export: flag.string("also export the first held-out sequence as a DL3DV-style folder", { placeholder: "DIR" }),
    preview: flag.string("also write a preview PNG of the first held-out sequence", { placeholder: "FILE.png" }),
  },
});

await runCommand(cmd, Deno.args, async (a) => {
  const cfg: DatasetConfig = {
    ...D,
    seed: a.seed,
    trainSequences: a.sequences,
    heldoutSequences: a.heldOut,
    robustnessSequences: a.robustness,
    heldoutFrames: a.frames,
    grid: a.grid,
    workers: a.workers,
  };
  const out = resolve(a.out);
  const t0 = performance.now();
  let lastPrint = 0;
  console.error(
    `data: ${cfg.trainSequences} train (F ${cfg.trainFramesMin}-${cfg.trainFramesMax}), ${cfg.heldoutSequences} ` +
      `held-out (F ${cfg.heldoutFrames}), ${cfg.robustnessSequences} robustness (Δt 1-${cfg.robustnessMaxGap}) ` +
      `sequences, ${cfg.grid}×${cfg.grid} grid at ${cfg.grid * 28}², seed ${cfg.seed}, ${cfg.workers} workers`,
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
  const bytes = m.files.reduce((acc, f) => acc + f.bytes, 0);
  console.log(`wrote ${m.files.length} shard files (${(bytes / 2 ** 20).toFixed(1)} MiB) and manifest.json to ${out}`);
  for (const [split, s] of Object.entries(m.splits)) {
    console.log(`  ${split}: ${s.sequences} sequences, ${s.frames} frames in ${s.files.length} files`);
  }
  console.log(`  ${result.framesRendered} frames rendered in ${secs.toFixed(1)} s`);
  for (const [split, m] of Object.entries(result.motion)) {
    if (split === "train") continue;
    console.log(`motion of the ${split} split (median displacement against Δt; written to ${MOTION_FILE}):`);
    for (const line of motionTableLines(m)) console.log(`  ${line}`);
  }
  if (result.sample && a.export) {
    const e = await exportSequence(resolve(a.export), result.sample);
    console.log(`exported ${result.sample.id} (${e.frames} frames, ${e.tracks} tracks) to ${e.dir}`);
  }
  if (result.sample && a.preview) {
    await writePreview(resolve(a.preview), result.sample);
    console.log(`wrote preview of ${result.sample.id} to ${resolve(a.preview)}`);
  }
});
