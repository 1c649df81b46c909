import assert from "node:assert/strict";
import { UsageError } from "../../core/cli.ts";
import { ConfigError } from "../../core/errors.ts";
import { parseTrainArgs, trainOverrides } from "../../train/command.ts";
import {
  DEFAULT_TRAIN_CONFIG,
  parseTrainConfig,
  PRESET_NAMES,
  resolveBaseConfig,
  resolveHeadLayers,
  resolveTrainConfig,
} from "../../train/config.ts";

Deno.test("the default config is valid and is the 'full' preset with the paper's λ_c = 0.3, λ_d = 1.0", () => {
  assert.deepEqual(parseTrainConfig(DEFAULT_TRAIN_CONFIG), DEFAULT_TRAIN_CONFIG);
  const c = resolveTrainConfig();
  assert.deepEqual(c, DEFAULT_TRAIN_CONFIG);
  assert.equal(c.loss.lambdaC, 0.3);
  assert.equal(c.loss.lambdaD, 1.0);
  assert.equal(c.optim.headLrMultiplier, 4);
  assert.equal(c.optim.clip, 1.0);
  assert.equal(c.optim.warmupFraction, 0.1);
});

Deno.test("every preset file resolves, and each expresses its paper comparison", () => {
  const got = Object.fromEntries(PRESET_NAMES.map((p) => [p, resolveTrainConfig({ preset: p })]));
  assert.equal(got["corr-only"].loss.lambdaD, 0);
  assert.equal(got["corr-only"].loss.lambdaC, 0.3);
  assert.equal(got["sft-general"].data.correspondence, "none");
  assert.equal(got["sft-general"].data.generalQaFraction, 1);
  assert.equal(got["sft-fair"].data.correspondence, "text-vqa");
  assert.equal(got["sft-fair"].loss.lambdaC + got["sft-fair"].loss.lambdaD, 0);
  for (const p of PRESET_NAMES) assert.equal(got[p].preset, p);
});

Deno.test("CLI overrides (--lora-rank, --layers, --head, --max-steps, --set) win over preset and config file", () => {
  const args = parseTrainArgs([
    "--preset",
    "corr-only",
    "--lora-rank",
    "4",
    "--layers",
    "1-2",
    "--head",
    "sec-4",
    "--max-steps",
    "7",
    "--set",
    "optim.lr=0.003",
    "--out",
    "runs/x",
  ]);
  assert.equal(args.out, "runs/x");
  const c = resolveTrainConfig({
    preset: args.preset,
    configFile: { steps: 99, lora: { alpha: 8 } },
    overrides: trainOverrides(args),
  });
  assert.equal(c.preset, "corr-only");
  assert.equal(c.lora.rank, 4);
  assert.equal(c.lora.alpha, 8); // from the config file
  assert.equal(c.steps, 7); // CLI beats file
  assert.equal(c.head.layers, "1-2");
  assert.equal(c.head.shape, "sec-4");
  assert.equal(c.optim.lr, 0.003);
  assert.equal(c.loss.lambdaD, 0);
});

Deno.test("unknown keys, unknown flags and wrong types are rejected with the offending path", () => {
  const bad = (f: () => unknown, re: RegExp) =>
    assert.throws(f, (e: unknown) => e instanceof ConfigError && re.test(e.message));
  bad(() => resolveTrainConfig({ configFile: { optim: { lrr: 1 } } }), /optim.*lrr/);
  bad(() => resolveTrainConfig({ configFile: { banana: 1 } }), /banana/);
  bad(() => resolveTrainConfig({ overrides: trainOverrides(parseTrainArgs(["--layers", "2"])) }), /head\.layers/);
  bad(() => resolveTrainConfig({ overrides: trainOverrides(parseTrainArgs(["--set", 'steps="ten"'])) }), /steps/);
  bad(() => resolveTrainConfig({ overrides: { lora: { rank: 2.5 } } }), /lora\.rank/);
  bad(() => resolveTrainConfig({ preset: "nope" }), /unknown preset/);
  const usage = (argv: string[], re: RegExp) =>
    assert.throws(() => parseTrainArgs(argv), (e: unknown) => e instanceof UsageError && re.test(e.message));
  usage(["--lora-rnk", "4"], /unknown flag --lora-rnk/);
  usage(["stray"], /unexpected argument "stray"/);
  usage(["--max-steps", "ten"], /--max-steps: expected an integer/);
  usage(["--head", "mlp"], /--head: expected one of app-b, sec-4/);
  // Consistency: the text-VQA baseline has no heads, so geometric loss weights must be 0.
  bad(() => resolveTrainConfig({ preset: "sft-fair", overrides: { loss: { lambdaC: 0.3 } } }), /lambdaC/);
});

Deno.test("resolveHeadLayers expands 'all' and inclusive ranges, and rejects ranges outside the model", () => {
  assert.deepEqual(resolveHeadLayers("all", 4), [0, 1, 2, 3]);
  assert.deepEqual(resolveHeadLayers("1-2", 4), [1, 2]);
  assert.throws(() => resolveHeadLayers("2-4", 4), ConfigError);
  assert.throws(() => resolveHeadLayers("3-1", 4), ConfigError);
});

Deno.test("stage base trains on general QA only: correspondence data with it is a ConfigError", () => {
  assert.equal(resolveBaseConfig().data.correspondence, "none");
  assert.throws(
    () => resolveBaseConfig({ data: { correspondence: "text-vqa", generalQaFraction: 0.5 } }),
    (e: unknown) => e instanceof ConfigError && e.message.includes("data.correspondence"),
  );
});
