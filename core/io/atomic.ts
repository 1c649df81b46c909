/**
 * Atomic file writes: write a temp file beside the target ("<name>.<pid>.<8 hex>.tmp"), then rename, so readers
 * never see half a file. A process killed between the two leaves the temp file; removeStaleTemps deletes such
 * leftovers once the folder is known to be ours (train/run_folder.ts, under the folder's lock).
 * Every failure is an IoError naming the target path (disk full, permission denied, …).
 */
import { dirname, join } from "node:path";
import { GaspError, IoError } from "../errors.ts";

/** The temp files writeFileAtomic makes: "<name>.<pid>.<8 hex>.tmp". */
export const ATOMIC_TEMP_PATTERN = /^.+\.\d+\.[0-9a-f]{8}\.tmp$/;

function tempPath(path: string): string {
  return `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
}

/** Runs `fn`; a failure other than one of our named errors becomes an IoError saying what was done to `path`. */
export async function withPath<T>(path: string, action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw e instanceof GaspError ? e : new IoError(path, action, e);
  }
}

/** Writes `data` to `path` through a temp file and a rename (creating the folder); an IoError names `path`. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempPath(path);
  await withPath(path, "write", async () => {
    await Deno.mkdir(dirname(path), { recursive: true });
    try {
      if (typeof data === "string") await Deno.writeTextFile(tmp, data);
      else await Deno.writeFile(tmp, data);
      await Deno.rename(tmp, path);
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      throw e;
    }
  });
}

/** writeFileAtomic, synchronously. */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const tmp = tempPath(path);
  try {
    Deno.mkdirSync(dirname(path), { recursive: true });
    if (typeof data === "string") Deno.writeTextFileSync(tmp, data);
    else Deno.writeFileSync(tmp, data);
    Deno.renameSync(tmp, path);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch { /* already gone */ }
    throw new IoError(path, "write", e);
  }
}

/**
 * Deletes the temp files writeFileAtomic left in `dir` (not recursive) and returns their names. Only call it on a
 * folder no other process is writing (a live writer's temp file would vanish under it).
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !ATOMIC_TEMP_PATTERN.test(e.name)) continue;
      await withPath(join(dir, e.name), "remove", () => Deno.remove(join(dir, e.name)));
      removed.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return removed;
    throw e instanceof GaspError ? e : new IoError(dir, "list", e);
  }
  return removed;
}
