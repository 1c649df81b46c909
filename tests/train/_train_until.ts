/**
 * `deno task train` (train/command.ts, unchanged) that stops itself at a chosen progress line: the line for step k
 * is printed after step k's metrics.jsonl record and before its checkpoint, so stopping there is exactly the moment
 * a kill duplicates a record. GASP_TEST_STOP_AT is the line's start ("step  8/12"); GASP_TEST_STOP is "kill" (SIGKILL
 * itself) or "pause" (print "PAUSED <pid>" and block, holding the run's lock, until the test kills it).
 * Needs --allow-run (to signal itself).
 */
import { runTrainCommand } from "../../train/command.ts";

const at = Deno.env.get("GASP_TEST_STOP_AT");
const how = Deno.env.get("GASP_TEST_STOP") ?? "kill";
const print = console.log;
console.log = (...args: unknown[]) => {
  print(...args);
  if (!at || !String(args[0]).startsWith(at)) return;
  if (how === "pause") {
    print(`PAUSED ${Deno.pid}`);
    // Block the thread (no CPU spent) so nothing after the line runs; the test SIGKILLs us.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
  }
  Deno.kill(Deno.pid, "SIGKILL");
};

await runTrainCommand(Deno.args);
