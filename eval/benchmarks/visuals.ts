/**
 * Turns an item's image sources into image bytes for the engine: embedded bytes, image files, ffmpeg-decoded videos
 * or a folder of pre-extracted frames. Every image is fully decoded once as a check, so a corrupt one fails with a
 * DataFormatError naming its file, row and field. Decoded videos are kept in a small LRU cache (VSI asks ~18
 * questions per video).
 */
import { join } from "node:path";
import { DataFormatError } from "../../core/errors.ts";
import { checkImageBytes, decodeImage } from "./images.ts";
import type { BenchImage, BenchItem, ImageSource } from "./types.ts";
import { evenlySpacedIndices, extractVideoFrames } from "./video_frames.ts";

export class VisualResolver {
  #videos = new Map<string, Uint8Array[]>();
  constructor(readonly maxCachedVideos = 16) {}

  async resolve(item: BenchItem): Promise<BenchImage[]> {
    const out: BenchImage[] = [];
    for (const src of item.images) out.push(...await this.#one(src));
    return out;
  }

  async #one(src: ImageSource): Promise<BenchImage[]> {
    const where = `row ${src.row}: ${src.field}`;
    switch (src.kind) {
      case "bytes":
        return [checked(src.bytes, src.file, where)];
      case "file": {
        let bytes: Uint8Array;
        try {
          bytes = await Deno.readFile(src.path);
        } catch (e) {
          throw new DataFormatError(src.file, where, `a readable image at ${src.path}`, (e as Error).message);
        }
        return [checked(bytes, src.path, `${where} (from ${src.file})`)];
      }
      case "video": {
        const key = `${src.path}#${src.frames}`;
        let frames = this.#videos.get(key);
        if (!frames) {
          frames = await extractVideoFrames(src.path, src.frames);
          this.#videos.set(key, frames);
          if (this.#videos.size > this.maxCachedVideos) this.#videos.delete(this.#videos.keys().next().value!);
        }
        return frames.map((b, i) => checked(b, src.path, `frame ${i} (${where} of ${src.file})`));
      }
      case "frames-dir": {
        let names: string[];
        try {
          names = [...Deno.readDirSync(src.path)].filter((e) => e.isFile && /\.(png|jpe?g)$/i.test(e.name))
            .map((e) => e.name).sort();
        } catch (e) {
          throw new DataFormatError(src.file, where, `a frames folder at ${src.path}`, (e as Error).message);
        }
        if (names.length === 0) throw new DataFormatError(src.file, where, `image files in ${src.path}`, "none found");
        const pick = evenlySpacedIndices(names.length, src.frames).map((i) => join(src.path, names[i]));
        return await Promise.all(pick.map(async (p) => checked(await Deno.readFile(p), p, where)));
      }
    }
  }
}

function checked(bytes: Uint8Array, file: string, where: string): BenchImage {
  const { mime } = checkImageBytes(bytes, file, where);
  const { width, height } = decodeImage(bytes, file, where);
  return { bytes, mime, width, height };
}
