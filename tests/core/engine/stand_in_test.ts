import assert from "node:assert/strict";
import { standInAnswer, StandInEngine } from "../../../core/engine/stand_in.ts";
import type { GenerationRequest } from "../../../core/engine/types.ts";

function request(extra: Partial<GenerationRequest> = {}): GenerationRequest {
  return {
    messages: [{
      role: "user",
      content: [
        { type: "image", image: { bytes: new Uint8Array([1, 2, 3]), mime: "image/png", width: 4, height: 3 } },
        { type: "text", text: "Where is the chair?" },
      ],
    }],
    maxTokens: 100,
    temperature: 0,
    topP: 1,
    seed: 7,
    stop: [],
    ...extra,
  };
}

Deno.test("stand-in answer is a deterministic function of the request and labels itself", async () => {
  const e = new StandInEngine({ tokenDelayMs: 0 });
  const a = await e.generate(request());
  const b = await e.generate(request());
  assert.equal(a.text, b.text);
  assert.equal(a.text, standInAnswer(request()));
  assert.match(a.text, /stand-in engine, not a model/);
  assert.match(a.text, /1 image\(s\) \(4x3 png\)/);
  assert.match(a.text, /Where is the chair\?/);
  assert.equal(a.finishReason, "stop");
  const other = await e.generate(request({ seed: 8 }));
  assert.notEqual(other.text, a.text);
});

Deno.test("stand-in streams tokens whose concatenation is the text", async () => {
  const e = new StandInEngine({ tokenDelayMs: 0 });
  const pieces: string[] = [];
  const r = await e.generate(request(), (t) => pieces.push(t));
  assert.ok(pieces.length > 5);
  assert.equal(pieces.join(""), r.text);
  assert.equal(r.completionTokens, pieces.length);
});

Deno.test("stand-in honours maxTokens with finishReason length and stop strings with stop", async () => {
  const e = new StandInEngine({ tokenDelayMs: 0 });
  const short = await e.generate(request({ maxTokens: 3 }));
  assert.equal(short.completionTokens, 3);
  assert.equal(short.finishReason, "length");
  const stopped = await e.generate(request({ stop: ["given"] }));
  assert.equal(stopped.finishReason, "stop");
  assert.ok(!stopped.text.includes("given"));
  assert.ok(standInAnswer(request()).startsWith(stopped.text));
});

Deno.test("stand-in stops at the next token when aborted and reports cancelled", async () => {
  const e = new StandInEngine({ tokenDelayMs: 20 });
  const control = new AbortController();
  let n = 0;
  const p = e.generate(request(), () => {
    if (++n === 2) control.abort();
  }, control.signal);
  const r = await p;
  assert.equal(r.finishReason, "cancelled");
  assert.equal(r.completionTokens, 2);
  assert.equal(e.abortsSeen, 1);
});

Deno.test("stand-in is not ready until its load delay has passed", async () => {
  const e = new StandInEngine({ loadDelayMs: 60 });
  assert.equal(e.ready(), false);
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(e.ready(), true);
});
