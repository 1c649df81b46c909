/**
 * deno task eval [--checkpoint DIR …] [--features oracle|random …] [--data DIR] [--out DIR] [--json FILE]
 *                [--delta 2] [--inclusive] [--max-dt 24] [--limit N] [--seed S] [--matcher gpu|cpu] [--no-png]
 * Correspondence analysis (Sec 5.3, App. C): per-layer PCK@δ, calibration ρ and gap, temporal robustness, and the
 * Figure 3 plots, for several checkpoints side by side (eval/correspondence/run.ts). --checkpoint takes a training
 * run (runs/base, runs/gasp: its export/ is analysed) or an export dir. With no --checkpoint and no --features it
 * runs the trained runs/base and runs/gasp when they exist, plus the oracle and random reference features. With no --data it uses runs/data and generates the
 * default dataset there first (as `deno task data` would) if it has no manifest yet. Similarity, argmax and softmax
 * run on the GPU (WebGPU; llvmpipe works) unless --matcher cpu picks the f64 reference. Progress goes to stderr.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { LayerFeatureSource } from "../core/analysis/features.ts";
import { cpuMatcher } from "../core/analysis/match.ts";
import { createGpuMatcher } from "../core/analysis/match_gpu.ts";
import { ConfigError } from "../core/errors.ts";
import { DEFAULT_DATASET, generateDataset } from "../core/scene/dataset.ts";
import { type ReferenceFeatures, runCorrespondenceEval } from "../eval/correspondence/run.ts";
import { loadRunFeatureSource } from "../train/run_features.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    checkpoint: { type: "string", multiple: true },
    features: { type: "string", multiple: true },
    data: { type: "string" },
    out: { type: "string", default: "runs/eval" },
    json: { type: "string" },
    delta: { type: "string", default: "2" },
    inclusive: { type: "boolean", default: false },
    "max-dt": { type: "string", default: "24" },
    limit: { type: "string" },
    seed: { type: "string", default: "0" },
    "no-png": { type: "boolean", default: false },
    matcher: { type: "string", default: "gpu" },
  },
  strict: true,
});

function number(name: string, v: string, integer: boolean, min: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
    throw new ConfigError(`--${name}`, `expected ${integer ? "an integer" : "a number"} ≥ ${min}, got "${v}"`);
  }
  return n;
}

/** A training run (runs/base, runs/gasp) or an export dir → per-layer Q/K features (App. C), via train/. */
const loadCheckpoint = (dir: string): Promise<LayerFeatureSource> => loadRunFeatureSource(dir);

const defaultRuns = ["runs/base", "runs/gasp"].filter((d) => existsSync(join(d, "export", "decoder.onnx")));
const checkpoints = (values.checkpoint ?? (values.features ? [] : defaultRuns)).map((d) => resolve(d));
const features = (values.features ?? (values.checkpoint ? [] : ["oracle", "random"])).map((f) => {
  if (f !== "oracle" && f !== "random") throw new ConfigError("--features", `oracle or random, got "${f}"`);
  return f as ReferenceFeatures;
});
const data = resolve(values.data ?? "runs/data");
if (!existsSync(join(data, "manifest.json"))) {
  if (values.data !== undefined) {
    throw new ConfigError("--data", `${data} has no manifest.json (create it with \`deno task data --out ${data}\`)`);
  }
  console.error(`eval: no dataset at ${data}; generating the default one (deno task data) first`);
  const t0 = performance.now();
  let last = 0;
  await generateDataset(data, DEFAULT_DATASET, (p) => {
    const now = performance.now();
    if (now - last < 3000 && p.sequencesDone !== p.sequencesTotal) return;
    last = now;
    console.error(
      `  data ${p.split}: ${p.sequencesDone}/${p.sequencesTotal} sequences · ${p.framesRendered} frames · ` +
        `${((now - t0) / 1000).toFixed(0)} s`,
    );
  });
}
if (values.matcher !== "gpu" && values.matcher !== "cpu") {
  throw new ConfigError("--matcher", `gpu or cpu, got "${values.matcher}"`);
}
const matcher = values.matcher === "gpu" ? await createGpuMatcher() : cpuMatcher;
const out = resolve(values.out!);
const t0 = performance.now();
const { report, files } = await runCorrespondenceEval({
  data,
  out,
  json: values.json === undefined ? undefined : resolve(values.json),
  features,
  checkpoints,
  loadCheckpoint,
  threshold: { delta: number("delta", values.delta!, false, Number.MIN_VALUE), inclusive: values.inclusive! },
  maxDeltaT: number("max-dt", values["max-dt"]!, true, 1),
  limit: values.limit === undefined ? undefined : number("limit", values.limit, true, 1),
  seed: number("seed", values.seed!, true, 0),
  noPng: values["no-png"],
  matcher,
  matcherName: values.matcher === "gpu" ? "gpu-f32 (WebGPU)" : "cpu-f64",
  log: (line) => console.error(line),
});
console.log(
  `correspondence analysis of ${report.checkpoints.map((c) => c.name).join(", ")} ` +
    `in ${((performance.now() - t0) / 1000).toFixed(1)} s; wrote:`,
);
for (const f of files) console.log(`  ${f}`);
