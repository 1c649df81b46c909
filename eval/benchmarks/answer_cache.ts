/**
 * The benchmark answer cache, keyed by content: an answer is reused only for the same model bytes and the same
 * request (prompt, image bytes, generation settings). A folder name is never a key, so a different model written to
 * the same folder, or a suite whose images changed, gets fresh answers.
 *
 * Layout: `{cacheDir}/{modelKey}.jsonl`, one JSON line per answered request `{item, output, promptTokens,
 * completionTokens, timingMs}` where `item` is the request hash. Lines are appended as answers finish (the file is
 * also the resume state of a crashed run); a torn last line is cut off; a later line for the same request wins
 * (a `--no-cache` run appends fresh answers, which later runs then reuse).
 *
 * What the keys do not see: code changes in the engine or model (decoding, preprocessing). After changing
 * core/engine or core/model, run with `--no-cache`.
 */
import { isEncodedImage, messageParts } from "../../core/text/chat.ts";
import { createHash } from "node:crypto";
import { dirname, join, relative } from "node:path";
import { DataFormatError } from "../../core/errors.ts";
import type { GenerationRequest } from "./types.ts";

/** One cached answer. */
export interface CachedAnswer {
  /** Request hash (itemHash). */
  item: string;
  output: string;
  promptTokens: number;
  completionTokens: number;
  timingMs: number;
}

const CHUNK = 1 << 22;

/** Every regular file under `dir`, as paths relative to it, sorted (so the hash does not depend on listing order). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) walk(p);
      else if (e.isFile || e.isSymlink) out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * sha256 over every file of a model folder (graphs, weights, config.json, tokenizer files): each file's relative
 * path, byte length and bytes, in path order. Streams the files, so a multi-GB export needs no extra memory.
 */
export async function modelContentHash(dir: string): Promise<string> {
  const h = createHash("sha256");
  const files = filesUnder(dir);
  if (files.length === 0) throw new DataFormatError(dir, "(folder)", "model files", "the folder is empty");
  const buf = new Uint8Array(CHUNK);
  for (const rel of files) {
    const path = join(dir, rel);
    const size = (await Deno.stat(path)).size;
    h.update(`${rel}\0${size}\0`);
    using f = await Deno.open(path, { read: true });
    for (let n = await f.read(buf); n !== null; n = await f.read(buf)) h.update(buf.subarray(0, n));
  }
  return h.digest("hex");
}

/** sha256 of a string key made of parts (model hash + engine settings → the cache key of one engine). */
export function hashParts(...parts: string[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(`${p.length}:${p}`);
  return h.digest("hex");
}

/**
 * sha256 of everything in a request that can change the answer: every message's role and parts (text, image mime,
 * size and bytes, in order), max tokens, temperature, top-p, seed and stop strings. Length-prefixed, so no two
 * different requests serialise alike.
 */
export function requestHash(req: GenerationRequest): string {
  const h = createHash("sha256");
  const field = (s: string) => h.update(`${s.length}:${s}`);
  field(`gen:${req.maxTokens}:${req.temperature}:${req.topP}:${req.seed}`);
  field(JSON.stringify(req.stop));
  for (const m of req.messages) {
    const parts = messageParts(m);
    field(`role:${m.role}:${parts.length}`);
    for (const c of parts) {
      if (c.type === "text") field(`text:${c.text}`);
      else if (c.type !== "image" || !c.image) field(`${c.type}:none`);
      else if (isEncodedImage(c.image)) {
        field(`image:${c.image.mime}:${c.image.width}x${c.image.height}:${c.image.bytes.length}`);
        h.update(c.image.bytes);
      } else {
        field(`image:rgb:${c.image.width}x${c.image.height}:${c.image.data.length}`);
        h.update(c.image.data);
      }
    }
  }
  return h.digest("hex");
}

/** The answers of one model (one cache key), loaded from and appended to its JSONL file. */
export class AnswerCache {
  readonly answers = new Map<string, CachedAnswer>();
  #file: Deno.FsFile | null = null;
  readonly #enc = new TextEncoder();

  private constructor(readonly path: string) {}

  /** Opens `{cacheDir}/{key}.jsonl` (created on the first append). `read: false` ignores what is there. */
  static async open(cacheDir: string, key: string, o: { read?: boolean } = {}): Promise<AnswerCache> {
    if (!/^[0-9a-f]{16,64}$/.test(key)) throw new Error(`answer cache key must be a hex hash, got "${key}"`);
    const c = new AnswerCache(join(cacheDir, `${key}.jsonl`));
    if (o.read ?? true) await c.#load();
    return c;
  }

  async #load(): Promise<void> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    // A crash mid-append leaves a torn last line: cut it off so the next append starts a fresh line.
    const end = text.lastIndexOf("\n") + 1;
    if (end < text.length) {
      await Deno.truncate(this.path, this.#enc.encode(text.slice(0, end)).length);
      text = text.slice(0, end);
    }
    for (const [i, line] of text.split("\n").entries()) {
      if (line.trim() === "") continue;
      let rec: CachedAnswer;
      try {
        rec = JSON.parse(line);
      } catch (e) {
        throw new DataFormatError(this.path, `line ${i + 1}`, "one JSON answer record", (e as Error).message);
      }
      if (typeof rec.item !== "string" || typeof rec.output !== "string") {
        throw new DataFormatError(this.path, `line ${i + 1}`, "{item: string, output: string, …}", "other fields");
      }
      this.answers.set(rec.item, rec);
    }
  }

  get(itemHash: string): CachedAnswer | undefined {
    return this.answers.get(itemHash);
  }

  /** Records an answer: in memory and as one whole line appended to the file (written before the next item). */
  async put(rec: CachedAnswer): Promise<void> {
    if (!this.#file) {
      await Deno.mkdir(dirname(this.path), { recursive: true });
      this.#file = await Deno.open(this.path, { append: true, create: true });
    }
    const bytes = this.#enc.encode(JSON.stringify(rec) + "\n");
    for (let off = 0; off < bytes.length;) off += await this.#file.write(bytes.subarray(off));
    this.answers.set(rec.item, rec);
  }

  close(): void {
    this.#file?.close();
    this.#file = null;
  }
}
