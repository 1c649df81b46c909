import assert from "node:assert/strict";
import { Template } from "@huggingface/jinja";
import { type ChatMessage, renderChatTemplate } from "../../../core/text/chat_template.ts";
import { QWEN2_5_VL_CHAT_TEMPLATE } from "../../fixtures/real_shape_checkpoint.ts";

/** Our messages in the shape HF's processor hands the template (content parts with a `type`). */
function hfMessages(messages: ChatMessage[]) {
  return messages.map((m) => ({
    role: m.role,
    content: typeof m.content === "string"
      ? m.content
      : m.content.map((p) => (p.type === "text" ? { type: "text", text: p.text } : { type: p.type })),
  }));
}

Deno.test("our chat template renderer equals Qwen2.5-VL's Jinja chat_template (rendered by @huggingface/jinja)", () => {
  const template = new Template(QWEN2_5_VL_CHAT_TEMPLATE);
  const cases: ChatMessage[][] = [
    [{ role: "user", content: "Hello world" }],
    [{ role: "user", content: [{ type: "image" }, { type: "text", text: "What is this?" }] }],
    [
      { role: "system", content: "Be brief." },
      { role: "user", content: [{ type: "image" }, { type: "image" }, { type: "text", text: "Same scene?" }] },
      { role: "assistant", content: "Yes." },
      { role: "user", content: [{ type: "video" }, { type: "text", text: "And now? 你好 👋  12345" }] },
    ],
  ];
  for (const messages of cases) {
    for (const addGenerationPrompt of [true, false]) {
      for (const addVisionId of [false, true]) {
        const ours = renderChatTemplate(messages, { addGenerationPrompt, addVisionId });
        const theirs = template.render({
          messages: hfMessages(messages),
          add_generation_prompt: addGenerationPrompt,
          add_vision_id: addVisionId,
        });
        assert.equal(ours, theirs, JSON.stringify({ messages, addGenerationPrompt, addVisionId }));
      }
    }
  }
});
