/**
 * Video → frames with the system ffmpeg (`Deno.Command`), as VSI-Bench needs. Frame indices are
 * `linspace(0, total - 1, n)` truncated to integers, the uniform sampling lmms-eval's video models use.
 * Install ffmpeg with `bash .ci/setup` (Debian `apt-get install ffmpeg`).
 */
import { join } from "node:path";
import { DataFormatError } from "../../core/errors.ts";

export function evenlySpacedIndices(total: number, n: number): number[] {
  if (total <= 0) return [];
  if (n <= 1) return [0];
  return Array.from({ length: n }, (_, i) => Math.floor((i * (total - 1)) / (n - 1)));
}

async function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${cmd} is not installed: run bash .ci/setup (apt-get install -y ffmpeg)`);
    }
    throw e;
  }
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Number of video frames (decoded count, so it is right even where the container header is not). */
export async function countVideoFrames(path: string): Promise<number> {
  const r = await run("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-count_frames",
    "-show_entries",
    "stream=nb_read_frames",
    "-of",
    "csv=p=0",
    path,
  ]);
  const n = parseInt(r.stdout.trim(), 10);
  if (r.code !== 0 || !Number.isFinite(n) || n <= 0) {
    throw new DataFormatError(path, "(video)", "a video ffprobe can read", r.stderr.trim().split("\n").pop() ?? "");
  }
  return n;
}

/** Decodes `n` evenly spaced frames as PNG bytes, in time order. */
export async function extractVideoFrames(path: string, n: number): Promise<Uint8Array[]> {
  const total = await countVideoFrames(path);
  const idx = [...new Set(evenlySpacedIndices(total, n))];
  const dir = await Deno.makeTempDir({ prefix: "gasp-frames-" });
  try {
    const select = idx.map((i) => `eq(n\\,${i})`).join("+");
    const r = await run("ffmpeg", [
      "-v",
      "error",
      "-nostdin",
      "-i",
      path,
      "-vf",
      `select='${select}'`,
      "-vsync",
      "0",
      join(dir, "f%05d.png"),
    ]);
    if (r.code !== 0) throw new DataFormatError(path, "(video)", "a video ffmpeg can decode", r.stderr.trim());
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((x) => x.endsWith(".png")).sort();
    if (names.length !== idx.length) {
      throw new DataFormatError(path, "(video)", `${idx.length} decodable frames`, `got ${names.length}`);
    }
    const frames = await Promise.all(names.map((f) => Deno.readFile(join(dir, f))));
    // Duplicated indices (videos shorter than n frames) repeat the frame, like linspace does.
    const byIndex = new Map(idx.map((i, k) => [i, frames[k]]));
    return evenlySpacedIndices(total, n).map((i) => byIndex.get(i)!);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
