/** Test fixture helpers: tiny images, a tiny mp4 made with ffmpeg, a scripted fake engine. */
import { join } from "node:path";
import jpeg from "jpeg-js";
import { encodeRgbPng } from "../../../eval/benchmarks/images.ts";
import type { BenchEngine, GenerationRequest, GenerationResult } from "../../../eval/benchmarks/types.ts";
import { withTempDir as withScratch } from "../../_helpers/temp_dir.ts";

export function pngBytes(w: number, h: number, rgb: [number, number, number]): Uint8Array {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, i * 3);
  return encodeRgbPng({ width: w, height: h, rgb: data });
}

export function jpegBytes(w: number, h: number, rgb: [number, number, number]): Uint8Array {
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([...rgb, 255], i * 4);
  return new Uint8Array(jpeg.encode({ width: w, height: h, data }, 90).data);
}

/** A tiny H.264 mp4 of `n` solid frames whose red channel is 10·k (k = frame index), made with the system ffmpeg. */
export async function makeMp4(path: string, n: number, w = 32, h = 32): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    for (let k = 0; k < n; k++) {
      await Deno.writeFile(join(dir, `f${String(k).padStart(3, "0")}.png`), pngBytes(w, h, [10 * k, 128, 64]));
    }
    const cmd = new Deno.Command("ffmpeg", {
      args: [
        "-v",
        "error",
        "-y",
        "-framerate",
        "10",
        "-i",
        join(dir, "f%03d.png"),
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-g",
        "1",
        path,
      ],
      stdout: "null",
      stderr: "piped",
    });
    const out = await cmd.output().catch((e) => {
      throw new Error(`ffmpeg is needed for the VSI video fixture: run bash .ci/setup (${e})`);
    });
    if (out.code !== 0) throw new Error(`ffmpeg failed: ${new TextDecoder().decode(out.stderr)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A scripted fake engine: answers from `script(req, callIndex)`, records every request. */
export class ScriptedEngine implements BenchEngine {
  calls: GenerationRequest[] = [];
  constructor(readonly script: (req: GenerationRequest, call: number) => string) {}
  generate(req: GenerationRequest): Promise<GenerationResult> {
    const text = this.script(req, this.calls.length);
    this.calls.push(req);
    return Promise.resolve({ text, promptTokens: 10, completionTokens: 1, finishReason: "stop", timingMs: 1 });
  }
}

export function promptOf(req: GenerationRequest): string {
  const last = req.messages[req.messages.length - 1].content;
  if (typeof last === "string") return last;
  const t = last.find((c) => c.type === "text");
  return t && t.type === "text" ? t.text : "";
}

export function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  return withScratch(fn, "gasp-bench-test-");
}

/**
 * A BLINK-format suite of two-choice questions "question i" whose gold letters are `golds[i]` ("A"/"B"), in the
 * HF layout `{dir}/Visual_Correspondence/val-00000-of-00001.parquet`.
 */
export async function writeBlinkFixture(dir: string, golds: readonly string[], tag = ""): Promise<string> {
  const { writeBlinkParquet } = await import("../../../eval/benchmarks/formats_write.ts");
  await writeBlinkParquet(
    join(dir, "Visual_Correspondence", "val-00000-of-00001.parquet"),
    golds.map((g, i) => ({
      idx: `val_Visual_Correspondence_${i}`,
      question: `question ${i}${tag}`,
      sub_task: "Visual_Correspondence",
      image_1: { bytes: pngBytes(4, 4, [i % 256, 1, 2]), path: null },
      image_2: null,
      image_3: null,
      image_4: null,
      choices: ["left", "right"],
      answer: `(${g})`,
      prompt: `question ${i}${tag}\n(A) left\n(B) right`,
      explanation: "",
    })),
  );
  return dir;
}

/** The "question i" number of a request built from writeBlinkFixture. */
export function questionNumber(req: GenerationRequest): number {
  return Number(/question (\d+)/.exec(promptOf(req))![1]);
}
