/**
 * /healthz stays fast while the real model works: the engine runs in Workers (core/engine/worker_engine.ts), so a
 * 16k-character prompt near the token limit (a ~4 s prefill here), eight 1024² JPEGs (decode + resize + vision
 * encoding) and eight 16-bit 4096² PNG headers never hold the server's event loop. Before, these blocked /healthz
 * for 17.7 s and 21.6-28.9 s. /healthz is polled every 20 ms the whole time; its p99 must stay under 200 ms.
 */
import assert from "node:assert/strict";
import jpeg from "jpeg-js";
import { WorkerEngine } from "../../core/engine/worker_engine.ts";
import { TINY_CONFIG } from "../../core/model/config.ts";
import { exportHeadFreeModel } from "../../core/model/export_onnx.ts";
import { initParameters } from "../../core/model/init.ts";
import { Rng } from "../../core/random.ts";
import { buildTinyTokenizerJson } from "../../core/text/build_tokenizer.ts";
import { percentile } from "../../serve/load_test.ts";
import { startServer } from "../../serve/server.ts";
import { buildPng } from "../../core/image/png_builder.ts";
import { jsonPost, toBase64 } from "./fixtures.ts";

Deno.test("/healthz p99 < 200 ms during a long prefill, eight large JPEGs and eight 16-bit PNG bombs", async () => {
  const dir = await Deno.makeTempDir();
  let engine: WorkerEngine | undefined;
  try {
    await exportHeadFreeModel(TINY_CONFIG, initParameters(TINY_CONFIG, 11), buildTinyTokenizerJson(), dir);
    engine = await WorkerEngine.start({ modelDir: dir, executionProvider: "wasm", log: () => {} });
    const server = startServer(engine, { port: 0, log: () => {} });
    const rng = new Rng(5);
    const side = 1024;
    const rgba = Uint8Array.from({ length: side * side * 4 }, () => rng.int(256));
    const jpg = `data:image/jpeg;base64,${
      toBase64(new Uint8Array(jpeg.encode({ width: side, height: side, data: rgba }, 85).data))
    }`;
    const bomb = `data:image/png;base64,${
      toBase64(buildPng({ width: 4096, height: 4096, colourType: 6, bitDepth: 16 }))
    }`;
    const longText = "the red cube is left of the chair ".repeat(470); // 15980 characters, ~3.8k tokens
    const chat = (content: unknown[], max = 4) =>
      fetch(
        `${server.url}/v1/chat/completions`,
        jsonPost({ messages: [{ role: "user", content }], max_tokens: max, temperature: 0 }),
      );
    const latencies: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const t0 = performance.now();
        const h = await fetch(`${server.url}/healthz`);
        await h.body?.cancel();
        latencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      const t0 = performance.now();
      const [long, jpegs, bombs] = await Promise.all([
        chat([{ type: "text", text: longText }]),
        chat([...Array.from({ length: 8 }, () => ({ type: "image_url", image_url: { url: jpg } })), {
          type: "text",
          text: "Describe.",
        }]),
        chat([...Array.from({ length: 8 }, () => ({ type: "image_url", image_url: { url: bomb } })), {
          type: "text",
          text: "q",
        }]),
      ]);
      const wallMs = performance.now() - t0;
      const lj = await long.json(), jj = await jpegs.json(), bj = await bombs.json();
      assert.equal(long.status, 200, JSON.stringify(lj));
      assert.ok(lj.usage.prompt_tokens > 3700, `${lj.usage.prompt_tokens} prompt tokens`);
      assert.equal(jpegs.status, 200, JSON.stringify(jj));
      assert.ok(jj.usage.prompt_tokens > 8 * 256, "eight 448² vision blocks");
      assert.equal(bombs.status, 413);
      assert.match(bj.error.message, /16 bits/);
      polling = false;
      await poller;
      const sorted = [...latencies].sort((a, b) => a - b);
      const p99 = percentile(sorted, 99);
      assert.ok(latencies.length >= wallMs / 100, `${latencies.length} polls in ${wallMs.toFixed(0)} ms`);
      assert.ok(
        p99 < 200,
        `/healthz p99 ${p99.toFixed(1)} ms (max ${sorted.at(-1)!.toFixed(1)} ms) over ${latencies.length} polls`,
      );
      console.log(
        `  /healthz during ${(wallMs / 1000).toFixed(1)} s of model work: p50 ${
          percentile(sorted, 50).toFixed(1)
        } ms, ` +
          `p99 ${p99.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms, ${latencies.length} polls`,
      );
    } finally {
      polling = false;
      await poller;
      await server.shutdown();
    }
  } finally {
    await engine?.close();
    await Deno.remove(dir, { recursive: true });
  }
});
