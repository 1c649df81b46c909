/**
 * deno task eval — correspondence analysis (Sec 5.3, App. C): per-layer PCK@δ, calibration ρ and gap, temporal
 * robustness, and the Figure 3 plots, for several models side by side (eval/correspondence/run.ts).
 * `--help` lists the flags. Progress goes to stderr.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { cpuMatcher } from "../core/analysis/match.ts";
import { createGpuMatcher } from "../core/analysis/match_gpu.ts";
import { defineCommand, flag, runCommand } from "../core/cli.ts";
import { ConfigError } from "../core/errors.ts";
import { resolveModelDir } from "../core/model/folder/resolve.ts";
import { deviceFlags, initDevice } from "../core/device_init.ts";
import { DEFAULT_DATASET, generateDataset } from "../core/scene/dataset.ts";
import { REFERENCE_FEATURES, type ReferenceFeatures, runCorrespondenceEval } from "../eval/correspondence/run.ts";

const cmd = defineCommand({
  name: "eval",
  summary: "Correspondence analysis: per-layer PCK, calibration, temporal robustness and the Figure 3 plots.",
  description: "--model takes a training run folder (runs/base, runs/gasp), an export folder, a model folder or a " +
    "step checkpoint, and the log says which one it resolved. Every model is read out by its Q/K per layer, raw " +
    "(App. C) and mean-centred, with its attention statistics. --features adds built-in sources: stationary (each " +
    "point predicted at its own token), vision (the vision tower's output tokens of the first --model, or " +
    "--vision-model), pixels (raw patch pixels), oracle and random. With no --features: stationary, vision and " +
    "pixels beside the models, or oracle, random, stationary and pixels when there is no model. With no --model and " +
    "no --features it analyses runs/base and runs/gasp when they exist. With no --data it uses runs/data and " +
    "generates the default dataset " +
    "there first (as `deno task data` would) if it has no manifest yet. Similarity, argmax and softmax run on " +
    "the --device (auto: WebGPU on a hardware GPU, else WASM) unless --matcher cpu picks the f64 reference.",
  flags: {
    model: flag.list("model or training run folder to analyse", { placeholder: "DIR" }),
    features: flag.list("built-in feature source (baseline or reference)", { choices: REFERENCE_FEATURES }),
    visionModel: flag.string("model whose vision tower --features vision reads (default: the first --model)", {
      placeholder: "DIR",
    }),
    noAttention: flag.boolean("skip the attention statistics of the models (own-frame share, true-match attention)"),
    noHidden: flag.boolean("skip the models' hidden-state read-out (each layer's output V^(l), cosine)"),
    data: flag.string("shard folder with manifest.json (default: runs/data, generated if missing)", {
      placeholder: "DIR",
    }),
    out: flag.string("output folder (report.json, summary.md, plots)", { default: "runs/eval", placeholder: "DIR" }),
    json: flag.string("also write report.json here", { placeholder: "FILE" }),
    delta: flag.number("PCK threshold δ in patches", { default: 2, min: 0, exclusiveMin: true }),
    inclusive: flag.boolean("count a match at exactly δ as correct (≤ δ instead of < δ)"),
    maxDt: flag.int("largest frame gap of the robustness curves", { default: 24, min: 1 }),
    limit: flag.int("sequences per split at most", { min: 1 }),
    seed: flag.int("seed of the random reference features", { default: 0, min: 0 }),
    matcher: flag.choice(["gpu", "cpu"] as const, "where similarities are computed", { default: "gpu" }),
    noPng: flag.boolean("write SVG plots only"),
    ...deviceFlags,
  },
});

await runCommand(cmd, Deno.args, async (a) => {
  const defaultRuns = ["runs/base", "runs/gasp"].filter((d) => existsSync(join(d, "export", "decoder.onnx")));
  const checkpoints = (a.model.length ? a.model : a.features.length ? [] : defaultRuns).map((d) => resolve(d));
  const haveModel = checkpoints.length > 0 || a.visionModel !== undefined;
  const features: ReferenceFeatures[] = a.features.length
    ? a.features as ReferenceFeatures[]
    : haveModel
    ? ["stationary", "vision", "pixels"]
    : ["oracle", "random", "stationary", "pixels"];
  for (const c of checkpoints) resolveModelDir(c); // a path that holds no model fails here, before any work
  if (a.visionModel !== undefined) resolveModelDir(resolve(a.visionModel));
  const data = resolve(a.data ?? "runs/data");
  await initDevice({ device: a.device, threads: a.threads });
  if (!existsSync(join(data, "manifest.json"))) {
    if (a.data !== undefined) {
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
  const matcher = a.matcher === "gpu" ? await createGpuMatcher() : cpuMatcher;
  const out = resolve(a.out);
  const t0 = performance.now();
  const { report, files } = await runCorrespondenceEval({
    data,
    out,
    json: a.json === undefined ? undefined : resolve(a.json),
    features,
    checkpoints,
    visionModel: a.visionModel === undefined ? undefined : resolve(a.visionModel),
    attention: !a.noAttention,
    hidden: !a.noHidden,
    threshold: { delta: a.delta, inclusive: a.inclusive },
    maxDeltaT: a.maxDt,
    limit: a.limit,
    seed: a.seed,
    noPng: a.noPng,
    matcher,
    matcherName: a.matcher === "gpu" ? "gpu-f32 (WebGPU)" : "cpu-f64",
    log: (line) => console.error(line),
  });
  console.log(
    `correspondence analysis of ${report.checkpoints.map((c) => c.name).join(", ")} ` +
      `in ${((performance.now() - t0) / 1000).toFixed(1)} s; wrote:`,
  );
  for (const f of files) console.log(`  ${f}`);
});
