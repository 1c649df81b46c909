/// <reference lib="deno.worker" />
/** Render worker: receives one frame job, renders it with renderFrame, transfers the pixel buffers back. */
import { renderFrame, type RenderJob } from "./render.ts";

self.onmessage = (e: MessageEvent<RenderJob>) => {
  const { id, scene, trajectory, frameIndex, width, height } = e.data;
  try {
    const frame = renderFrame(scene, trajectory, frameIndex, width, height);
    const transfer = [frame.rgb.buffer, frame.depth.buffer, frame.objectId!.buffer] as ArrayBuffer[];
    self.postMessage({ id, frame }, { transfer });
  } catch (err) {
    self.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
};
