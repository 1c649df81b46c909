/**
 * An exclusive lock on a folder, so two processes never write into it at once (a second training run into one
 * `--out` would mix its metrics and checkpoints with the first's).
 *
 * DIR/<name> holds the holder's {pid, host, since, command} and is held with the OS's advisory file lock (flock) for
 * as long as the process keeps it open. The kernel drops that lock when the process dies, kill -9 included, so
 * liveness never depends on guessing from a pid: a lock file whose advisory lock is free was left by a process that
 * is gone, and is taken over (with a log line naming that pid). Released, the file is deleted (and the folder too,
 * when taking the lock created it and it is still empty).
 *
 * Race with a releasing process: it deletes the file while holding the lock, so a process that opened the old file
 * and locks it after the release sees that the path no longer names its file (inode check) and tries again.
 */
import { join } from "node:path";
import { FolderLockedError, IoError } from "../errors.ts";
import { withPath } from "./atomic.ts";

/** Who holds (or held) a lock, as written in its file. */
export interface LockHolder {
  pid: number;
  host: string | null;
  /** ISO time the lock was taken. */
  since: string;
  command: string[];
}

export interface FolderLock {
  /** The lock file. */
  path: string;
  /** A lock file left by a dead process that this lock took over, if any. */
  takenOver: LockHolder | null;
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface LockOptions {
  /** Lock file name inside the folder (default "run.lock"). */
  name?: string;
  log?: (line: string) => void;
}

export const DEFAULT_LOCK_NAME = "run.lock";

function parseHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text);
    return Number.isInteger(h?.pid) ? h : null;
  } catch {
    return null;
  }
}

function describe(h: LockHolder | null): string {
  if (!h) return "pid unknown: its lock file is empty or being written";
  return `pid ${h.pid}${h.host ? ` on ${h.host}` : ""}, since ${h.since}${
    h.command.length ? `: ${h.command.join(" ")}` : ""
  }`;
}

function hostname(): string | null {
  // Deno.hostname needs --allow-sys, which the tasks do not grant; a permission prompt would hang a run.
  try {
    return Deno.permissions.querySync({ name: "sys", kind: "hostname" }).state === "granted" ? Deno.hostname() : null;
  } catch {
    return null;
  }
}

/**
 * The live holder of `dir`'s lock, or null when nobody holds it (also when there is no lock file). Writes nothing:
 * a cheap check before expensive work; lockFolder is the authoritative one.
 */
export async function lockHolder(dir: string, name = DEFAULT_LOCK_NAME): Promise<LockHolder | "unknown" | null> {
  const path = join(dir, name);
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new IoError(path, "open", e);
  }
  try {
    if (await f.tryLock(true)) {
      await f.unlock();
      return null;
    }
    return parseHolder(await Deno.readTextFile(path).catch(() => "")) ?? "unknown";
  } finally {
    f.close();
  }
}

/** Throws FolderLockedError when another live process holds `dir`'s lock. */
export async function assertUnlocked(dir: string, name = DEFAULT_LOCK_NAME): Promise<void> {
  const h = await lockHolder(dir, name);
  if (h) throw lockedError(dir, join(dir, name), h === "unknown" ? null : h);
}

function lockedError(dir: string, path: string, h: LockHolder | null): FolderLockedError {
  return new FolderLockedError(dir, path, h?.pid ?? null, describe(h));
}

/** Takes `dir`'s lock (creating `dir`), or throws FolderLockedError naming the live holder's pid. */
export async function lockFolder(dir: string, o: LockOptions = {}): Promise<FolderLock> {
  const path = join(dir, o.name ?? DEFAULT_LOCK_NAME);
  const created = await Deno.stat(dir).then(() => false, () => true);
  await withPath(dir, "create folder", () => Deno.mkdir(dir, { recursive: true }));
  for (let attempt = 0; attempt < 10; attempt++) {
    const f = await withPath(path, "open", () => Deno.open(path, { read: true, write: true, create: true }));
    let keep = false;
    try {
      if (!(await withPath(path, "lock", () => f.tryLock(true)))) {
        throw lockedError(dir, path, parseHolder(await Deno.readTextFile(path).catch(() => "")));
      }
      // The path must still name the file we locked (a releasing holder deletes it before unlocking).
      const [mine, now] = [await f.stat(), await Deno.stat(path).catch(() => null)];
      if (!now || (mine.ino !== null && mine.ino !== now.ino)) continue;
      const previous = parseHolder(await Deno.readTextFile(path).catch(() => ""));
      if (previous) {
        o.log?.(`lock: took over ${path} left by ${describe(previous)} (that process is gone)`);
      }
      const me: LockHolder = {
        pid: Deno.pid,
        host: hostname(),
        since: new Date().toISOString(),
        command: [Deno.execPath(), ...Deno.args].slice(-12),
      };
      await withPath(path, "write", async () => {
        await f.truncate(0);
        await f.seek(0, Deno.SeekMode.Start);
        await f.write(new TextEncoder().encode(JSON.stringify(me) + "\n"));
        await f.sync();
      });
      keep = true;
      let released = false;
      const release = async () => {
        if (released) return;
        released = true;
        // Delete while still holding it, then unlock by closing (see the race note above).
        await Deno.remove(path).catch(() => {});
        f.close();
        if (created) await Deno.remove(dir).catch(() => {}); // only if still empty: nothing was written after all
      };
      return { path, takenOver: previous, release, [Symbol.asyncDispose]: release };
    } finally {
      if (!keep) f.close();
    }
  }
  throw new IoError(path, "lock", new Error("the lock file kept being replaced (10 attempts)"));
}
