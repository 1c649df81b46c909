/**
 * deno task train [--preset P] [--config FILE] [--out DIR] [--max-steps N] [--resume DIR] [--stage base|gasp]
 *                 [--lora-rank R] [--layers all|A-B] [--head app-b|sec-4] [--seed S] [--set path=JSON …]
 *                 [--data DIR] [--base DIR] [--pck-sequences N]
 * With no stage/preset/config/resume flag: make runs/data if missing, train the tiny base into runs/base if missing,
 * then GASP (preset full) into runs/gasp, printing held-out peak-layer PCK@2 before and after. With --stage base it
 * trains only the base (into --out, default runs/base); otherwise one GASP/baseline run into --out (default
 * runs/<preset>, runs/gasp for full). Progress lines go to stdout; metrics.jsonl and checkpoints into the run dir.
 */
import { runTrainCommand } from "../train/command.ts";

await runTrainCommand(Deno.args);
