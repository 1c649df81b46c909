/**
 * Run reports for the README report tests, written by the real writers where that is cheap: results.json by
 * runBench on the BLINK fixture with scripted engines, report.json by runCorrespondenceEval on a tiny rendered
 * dataset; pck.json (it needs a training run) and ablation.json by hand, with the writers' field names.
 */
import { join } from "node:path";
import { runBench } from "../../../eval/benchmarks/bench_run.ts";
import { runCorrespondenceEval } from "../../../eval/correspondence/run.ts";
import { DEFAULT_DATASET, generateDataset } from "../../../core/scene/dataset.ts";
import { questionNumber, ScriptedEngine, writeBlinkFixture } from "../benchmarks/fixtures.ts";

/** A README with the five marker pairs between hand-written text. */
export const README = [
  "# Title",
  "",
  "```sh",
  "first command",
  "```",
  "",
  "Hand-written text, kept byte for byte.  Trailing spaces too.  ",
  "",
  "<!-- report:correspondence -->",
  "old numbers",
  "<!-- /report:correspondence -->",
  "",
  "Between sections.",
  "",
  "<!-- report:benchmarks -->",
  "<!-- /report:benchmarks -->",
  "<!-- report:validation -->",
  "<!-- /report:validation -->",
  "<!-- report:ablation -->",
  "<!-- /report:ablation -->",
  "",
  "<!-- report:targets -->",
  "<!-- /report:targets -->",
  "",
  "The end, no newline at the end of the file.",
].join("\n");

/** The text outside the markers' bodies (what must never change). */
export function outside(text: string): string {
  return text.replace(/(<!-- report:([a-z]+) -->)[\s\S]*?(<!-- \/report:\2 -->)/g, "$1$3");
}

/** pck.json as train/pipeline.ts defaultPipeline writes it: heads at 71 % on the moved pairs, ρ 0.55. */
export function pckFixture() {
  const r = (source: string, pck: number, pckMoved: number, rho: number | null) => ({
    source,
    layer: 1,
    pck,
    pckMoved,
    perLayer: [pck / 2, pck],
    perLayerMoved: [pckMoved / 2, pckMoved],
    chance: 0.127,
    rho,
  });
  return {
    before: [r("stationary", 0.25, 0, null), r("vision", 0.366, 0.359, -0.03), r("base Q/K", 0.165, 0.173, -0.2)],
    after: [
      r("full Q/K", 0.154, 0.165, 0.01),
      r("full head embeddings", 0.734, 0.712, 0.55),
      r("full hidden states", 0.3, 0.28, 0.1),
    ],
    control: {
      preset: "sft-general",
      steps: 120,
      lm: 0.6,
      pck: [r("sft-general Q/K", 0.16, 0.17, -0.1), r("sft-general hidden states", 0.2, 0.19, 0)],
    },
    lmBefore: 0.7182,
    lmAfter: 0.5191,
    sequences: 24,
    heldout: {
      grid: { rows: 8, cols: 8 },
      threshold: { delta: 2, inclusive: false },
      numSequences: 24,
      numPairs: 3270,
      stationaryPck: 0.252,
      stationaryPckStd: 0.211,
      stationaryPooledPck: 0.26,
      movedFraction: 0.728,
      chancePck: 0.127,
      medianDisplacement: 2.6,
      byDeltaT: [],
    },
  };
}

/** ablation.json as train/ablation.ts writes it ("gasp-ablation/1"), a row without heads and an extra metric. */
export function ablationFixture() {
  const peak = (pck: number, pckMoved: number) => ({
    layer: 2,
    pck,
    pckStd: 0.05,
    pckMoved,
    pckMovedStd: 0.06,
    perLayer: [pck],
    perLayerMoved: [pckMoved],
  });
  const attention = (own: number) => ({
    ownFrameShare: { mean: own, perLayer: [own] },
    trueMatchAttention: { mean: 0.0018, perLayer: [0.0018] },
  });
  const delta = (diff: number | null, pValue: number | null) => ({
    n: 300,
    score: 0.5,
    ci95: { lo: 0.44, hi: 0.56 },
    diff,
    diffCi95: null,
    pValue,
    test: "mcnemar-exact",
  });
  const row = (name: string, description: string, overrides: Record<string, unknown>) => ({
    name,
    description,
    preset: "full",
    overrides,
    steps: 120,
    runDir: `runs/ablate/${name}`,
    trainSeconds: 600,
    head: peak(0.3, 0.27),
    qk: peak(0.154, 0.165),
    qkCentred: peak(0.19, 0.184),
    hidden: { ...peak(0.26, 0.25), perLayerMoved: [0.25, 0.21] },
    attention: attention(0.66),
    heldoutLm: 0.5191,
    bench: { control: "sft-general", suites: { "synthetic-counting": delta(0.031, 0.2) } },
    config: { steps: 120, loss: { lambdaC: 0.3 } },
  });
  return {
    schema: "gasp-ablation/1",
    createdAt: "2026-12-02T02:00:00.000Z",
    argv: ["deno", "task", "ablate", "--rows", "full,sft-general,video"],
    data: "runs/data",
    base: "runs/base",
    seed: 0,
    pckSequences: 24,
    benchPerSuite: 300,
    notes: ["every row from the same base"],
    heldout: pckFixture().heldout,
    rows: [
      row("full", "paper default", {}),
      {
        ...row("sft-general", "general QA only", {}),
        preset: "sft-general",
        head: null,
        bench: { control: "sft-general", suites: { "synthetic-counting": delta(null, null) } },
      },
      { ...row("video", "frames as one video in M-RoPE", { data: { framePositions: "video" } }), gradNorm: 1.25 },
    ],
  };
}

/** runs/bench/results.json by runBench: gasp answers every item, sft-general always "A", base never right. */
export async function writeBenchResults(dir: string, outDir: string): Promise<void> {
  const golds = Array.from({ length: 40 }, (_, i) => (i % 4 === 3 ? "B" : "A"));
  const data = await writeBlinkFixture(join(dir, "blink"), golds);
  const key = (c: string) => c.repeat(64);
  await runBench({
    suites: ["blink"],
    data: { blink: data },
    checkpoints: [
      {
        name: "base",
        engine: new ScriptedEngine((q) => (golds[questionNumber(q)] === "A" ? "B" : "A")),
        cacheKey: key("1"),
      },
      { name: "sft-general", engine: new ScriptedEngine(() => "A"), cacheKey: key("2") },
      { name: "gasp", engine: new ScriptedEngine((q) => golds[questionNumber(q)]), cacheKey: key("3") },
    ],
    outDir,
  });
}

/** report.json by `deno task eval`'s runner on a tiny rendered dataset (stationary and random sources). */
export async function writeEvalReport(dir: string, json: string, grid?: number): Promise<void> {
  const data = join(dir, `data${grid ?? ""}`);
  const tiny = { trainSequences: 1, heldoutSequences: 2, robustnessSequences: 1 };
  await generateDataset(data, { ...DEFAULT_DATASET, ...tiny, ...(grid ? { grid } : {}) });
  await runCorrespondenceEval({
    data,
    out: join(dir, `eval${grid ?? ""}`),
    json,
    features: ["stationary", "random"],
    checkpoints: [],
    noPng: true,
  });
}
