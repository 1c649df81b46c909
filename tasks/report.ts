/**
 * deno task report — rebuilds the README's results sections (between `<!-- report:NAME -->` markers) from the run
 * reports: runs/gasp/pck.json (deno task train), the eval reports (deno task eval --json), runs/bench/results.json
 * (deno task bench) and runs/ablate/ablation.json, with the paper's targets against what they reach
 * (eval/report/readme_report.ts). Text outside the markers is kept byte for byte. `--help` lists the flags.
 */
import { resolve } from "node:path";
import { defineCommand, flag, runCommand } from "../core/cli.ts";
import { buildReadme } from "../eval/report/readme_report.ts";
import { writeFileAtomic } from "../core/io/atomic.ts";

const cmd = defineCommand({
  name: "report",
  summary: "Rewrites the README's results sections from the run reports (no number typed by hand).",
  description: "Reads RUNS/gasp/pck.json, --eval, --eval16, RUNS/bench/results.json and RUNS/ablate/ablation.json; " +
    "a file that does not exist yet makes its section say which command writes it, a malformed one is an error " +
    "naming the file and the field. Only the text between the report markers changes; the README is replaced " +
    "atomically. --check writes nothing and exits 1 when the README is out of date.",
  flags: {
    runs: flag.string("folder of the run reports", { default: "runs", placeholder: "DIR" }),
    readme: flag.string("the Markdown file with the report markers", { default: "README.md", placeholder: "FILE" }),
    eval: flag.string("deno task eval --json report at the default grid (default: RUNS/eval.json)", {
      placeholder: "FILE",
    }),
    eval16: flag.string("the same at a 16 × 16 token grid (default: RUNS/eval16.json)", { placeholder: "FILE" }),
    base: flag.string("the base model's label in the reports", { default: "base" }),
    gasp: flag.string("the GASP model's label in the reports", { default: "gasp" }),
    control: flag.string("the benchmark control's label", { default: "sft-general" }),
    check: flag.boolean("write nothing; exit 1 when the README is out of date"),
  },
  examples: ["deno task report", "deno task report --check", "deno task report --eval16 runs/eval16.json"],
});

await runCommand(cmd, Deno.args, async (a) => {
  const readme = resolve(a.readme);
  const { after, stale, inputs } = await buildReadme(readme, a);
  const read = Object.entries(inputs.files).map(([k, f]) =>
    `${f}${inputs[k as keyof typeof inputs.files] ? "" : " (absent)"}`
  );
  if (a.check) {
    if (stale) {
      console.error(`report: ${a.readme} is out of date with ${read.join(", ")}; run \`deno task report\``);
      Deno.exit(1);
    }
    console.log(`report: ${a.readme} is up to date`);
    return;
  }
  if (stale) await writeFileAtomic(readme, after);
  console.log(`report: ${stale ? "rewrote" : "unchanged:"} ${a.readme} from ${read.join(", ")}`);
});
