import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FolderLockedError, IoError } from "../../../core/errors.ts";
import { assertUnlocked, lockFolder, lockHolder } from "../../../core/io/lock.ts";
import { withTempDir } from "../../_helpers/temp_dir.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

/** A child Deno that takes the folder's lock, prints "LOCKED", and waits until killed. */
function childHolding(dir: string): { child: Deno.ChildProcess; locked: Promise<void> } {
  const code = `import { lockFolder } from "${ROOT}core/io/lock.ts";
await lockFolder(${JSON.stringify(dir)});
console.log("LOCKED");
await new Promise(() => setInterval(() => {}, 1000));`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const locked = (async () => {
    const r = child.stdout.getReader();
    let text = "";
    while (!text.includes("LOCKED")) {
      const { value, done } = await r.read();
      if (done) throw new Error("child exited before taking the lock");
      text += new TextDecoder().decode(value);
    }
    r.releaseLock();
  })();
  return { child, locked };
}

Deno.test("a folder lock held by another process refuses a second taker, naming the holder's pid", async () => {
  await withTempDir(async (dir) => {
    const { child, locked } = childHolding(dir);
    try {
      await locked;
      const holder = await lockHolder(dir);
      assert.ok(holder && holder !== "unknown");
      assert.equal(holder.pid, child.pid);
      await assert.rejects(() => lockFolder(dir), (e) => {
        assert.ok(e instanceof FolderLockedError);
        assert.equal(e.holderPid, child.pid);
        assert.match(e.message, new RegExp(`in use by another process \\(pid ${child.pid}\\b`));
        return true;
      });
      await assert.rejects(() => assertUnlocked(dir), FolderLockedError);
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    }
    // SIGKILLed, the child leaves its lock file, but the kernel dropped its lock: it is taken over, with a log line.
    assert.ok(existsSync(join(dir, "run.lock")));
    assert.equal(await lockHolder(dir), null);
    const lines: string[] = [];
    const lock = await lockFolder(dir, { log: (l) => lines.push(l) });
    assert.equal(lock.takenOver?.pid, child.pid);
    assert.equal(lines.length, 1);
    assert.match(lines[0], new RegExp(`took over .*run\\.lock left by pid ${child.pid}\\b.*that process is gone`));
    assert.equal(JSON.parse(await Deno.readTextFile(lock.path)).pid, Deno.pid);
    await lock.release();
    assert.ok(!existsSync(join(dir, "run.lock")));
  });
});

Deno.test("a folder lock is exclusive within one process too, and free again after release", async () => {
  await withTempDir(async (dir) => {
    const run = join(dir, "run");
    const a = await lockFolder(run);
    assert.equal(a.takenOver, null);
    await assert.rejects(() => lockFolder(run), (e) => e instanceof FolderLockedError && e.holderPid === Deno.pid);
    await a.release();
    await a.release(); // idempotent
    // Taking the lock created the folder, and nothing else was written: release removes it again.
    assert.ok(!existsSync(run));
    {
      await using b = await lockFolder(run);
      assert.equal(b.takenOver, null);
      await Deno.writeTextFile(join(run, "kept.txt"), "x");
    }
    assert.deepEqual([...Deno.readDirSync(run)].map((e) => e.name), ["kept.txt"]);
  });
});

Deno.test("a lock that cannot be made names the path", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "a-file");
    await Deno.writeTextFile(file, "not a folder");
    await assert.rejects(() => lockFolder(join(file, "run")), (e) => {
      assert.ok(e instanceof IoError);
      assert.match(e.message, new RegExp(`could not create folder ${file}/run: `));
      return true;
    });
  });
});
