/**
 * GET / : one self-contained HTML page (inline CSS and JS, no external requests) to upload images, ask a question and
 * watch the answer stream in from POST /v1/chat/completions with `stream: true`.
 */
export function indexPage(modelName: string, o: { standIn: boolean; untrained: boolean }): string {
  const banner = o.standIn
    ? `<p class="warn" id="standin">Stand-in engine: answers are a deterministic echo of the request, not a model.</p>`
    : o.untrained
    ? `<p class="warn" id="untrained"><b>Untrained model:</b> this server runs the tiny model with seeded random ` +
      "weights (no trained model was found), so its answers are noise. Train one with <code>deno task train</code> " +
      "and restart, or pass <code>--model</code>.</p>"
    : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GASP-TS spatial VQA</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 760px; margin: 2em auto; padding: 0 1em; color: #1d1d1f; }
  h1 { font-size: 1.4em; margin-bottom: .2em; }
  .model { color: #666; margin-top: 0; }
  .warn { background: #fff4d6; border: 1px solid #e8c35a; padding: .5em .8em; border-radius: 6px; }
  label { display: block; margin: .8em 0 .3em; font-weight: 600; }
  textarea, input[type=password] { width: 100%; box-sizing: border-box; font: inherit; padding: .4em; }
  #thumbs { display: flex; gap: 8px; flex-wrap: wrap; margin-top: .5em; }
  #thumbs img { max-height: 96px; border: 1px solid #ccc; border-radius: 4px; }
  button { margin-top: 1em; font: inherit; padding: .45em 1.4em; border-radius: 6px; border: 0; background: #2456d6;
    color: #fff; cursor: pointer; }
  button:disabled { background: #9aa; }
  #answer { white-space: pre-wrap; background: #f4f5f7; padding: .8em; border-radius: 6px; min-height: 3em; }
  #status { color: #666; font-size: .9em; }
  #status[data-state=error] { color: #b00020; }
</style>
</head>
<body>
<h1>GASP-TS spatial VQA</h1>
<p class="model">Model: <code id="model">${escapeHtml(modelName)}</code> · <a href="/docs">API docs</a></p>
${banner}
<form id="ask">
  <label for="images">Images (PNG or JPEG)</label>
  <input id="images" type="file" accept="image/png,image/jpeg" multiple>
  <div id="thumbs"></div>
  <label for="question">Question</label>
  <textarea id="question" rows="3" placeholder="Which object is closer to the camera?"></textarea>
  <label for="key">API key (only if the server requires one)</label>
  <input id="key" type="password" autocomplete="off">
  <button id="submit" type="submit">Ask</button>
</form>
<label>Answer</label>
<div id="answer"></div>
<p id="status" data-state="idle"></p>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const setStatus = (state, text) => { $("status").dataset.state = state; $("status").textContent = text; };
function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}
$("images").addEventListener("change", async () => {
  $("thumbs").replaceChildren();
  for (const f of $("images").files) {
    const img = document.createElement("img");
    img.alt = f.name;
    img.src = await readAsDataUrl(f);
    $("thumbs").append(img);
  }
});
$("ask").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const question = $("question").value.trim();
  if (!question) { setStatus("error", "Type a question first."); return; }
  $("submit").disabled = true;
  $("answer").textContent = "";
  setStatus("running", "Sending...");
  const t0 = performance.now();
  try {
    const content = [];
    for (const f of $("images").files) content.push({ type: "image_url", image_url: { url: await readAsDataUrl(f) } });
    content.push({ type: "text", text: question });
    const headers = { "content-type": "application/json" };
    if ($("key").value) headers.authorization = "Bearer " + $("key").value;
    const res = await fetch("/v1/chat/completions", {
      method: "POST",
      headers,
      body: JSON.stringify({ messages: [{ role: "user", content }], stream: true, temperature: 0 }),
    });
    if (!res.ok) {
      let msg = res.status + " " + res.statusText;
      try { msg = (await res.json()).error.message; } catch (_) { /* not JSON */ }
      throw new Error(msg);
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = "", finish = null, first = null;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buf.indexOf("\\n\\n")) >= 0) {
        const event = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        for (const line of event.split("\\n")) {
          if (!line.startsWith("data: ")) continue;
          const data = line.slice(6);
          if (data === "[DONE]") continue;
          const chunk = JSON.parse(data);
          if (chunk.error) throw new Error(chunk.error.message);
          const choice = chunk.choices && chunk.choices[0];
          if (!choice) continue;
          if (choice.delta && choice.delta.content) {
            if (first === null) first = performance.now() - t0;
            $("answer").textContent += choice.delta.content;
            setStatus("running", "Streaming...");
          }
          if (choice.finish_reason) finish = choice.finish_reason;
        }
      }
    }
    const total = ((performance.now() - t0) / 1000).toFixed(2);
    const ttft = first === null ? "-" : (first / 1000).toFixed(2);
    setStatus("done", "Done (" + (finish || "?") + ") in " + total + " s, first token after " + ttft + " s.");
  } catch (e) {
    setStatus("error", "Error: " + e.message);
  } finally {
    $("submit").disabled = false;
  }
});
</script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
