/**
 * deno task train — the tiny base VLM (if missing), then the sft-general control and GASP from it, with held-out PCK
 * before/after (train/command.ts).
 * `--help` lists the flags.
 */
import { runTrainCommand } from "../train/command.ts";

await runTrainCommand(Deno.args);
