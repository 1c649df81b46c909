/** The stock `openai` npm client against the running server: chat with an image, streaming and not. */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { StandInEngine } from "../../core/engine/stand_in.ts";
import { startServer } from "../../serve/server.ts";
import { pngDataUrl } from "./fixtures.ts";

Deno.test("the openai client completes an image chat, non-streaming and streaming, and surfaces API errors", async () => {
  const engine = new StandInEngine({ tokenDelayMs: 1 });
  const server = startServer(engine, { port: 0, apiKey: "test-key", log: () => {} });
  try {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "test-key", maxRetries: 0 });
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{
      role: "user",
      content: [
        { type: "image_url", image_url: { url: pngDataUrl(12, 9) } },
        { type: "text", text: "Is the lamp left of the sofa?" },
      ],
    }];
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), [engine.modelName]);

    const completion = await client.chat.completions.create({
      model: engine.modelName,
      messages,
      max_tokens: 64,
      temperature: 0,
      seed: 5,
    });
    const answer = completion.choices[0].message.content ?? "";
    assert.match(answer, /1 image\(s\) \(12x9 png\)/);
    assert.match(answer, /Is the lamp left of the sofa\?/);
    assert.equal(completion.choices[0].finish_reason, "stop");
    assert.ok(completion.usage!.completion_tokens > 0);

    const stream = await client.chat.completions.create({
      model: engine.modelName,
      messages,
      max_tokens: 64,
      temperature: 0,
      seed: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta?.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    assert.equal(streamed, answer, "streamed text equals the non-streamed answer for the same seed");
    assert.equal(finish, "stop");
    assert.equal(usage?.completion_tokens, completion.usage!.completion_tokens);

    const bad = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "wrong", maxRetries: 0 });
    await assert.rejects(
      bad.chat.completions.create({ model: engine.modelName, messages }),
      (e) => e instanceof OpenAI.AuthenticationError && e.status === 401,
    );
    await assert.rejects(
      client.chat.completions.create({ model: engine.modelName, messages, max_tokens: 100_000 }),
      (e) => e instanceof OpenAI.BadRequestError && /at most/.test(e.message),
    );
  } finally {
    await server.shutdown();
  }
});
