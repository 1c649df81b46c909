/**
 * GET /docs: the OpenAPI document (serve/openapi.ts) as one self-contained HTML page, rendered here on the server
 * (no external scripts or styles, so it works offline and under the same strict CSP as the index page): every route
 * with its summary, request body schema, and responses, and a link to the raw /openapi.json.
 */
interface OpenApiDoc {
  info: { title: string; description?: string; version: string };
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
}

interface Operation {
  summary?: string;
  description?: string;
  security?: unknown[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function refName(schema: unknown): string | null {
  const ref = (schema as { $ref?: string } | undefined)?.$ref;
  return ref ? ref.split("/").pop()! : null;
}

function schemaLink(schema: unknown): string {
  const name = refName(schema);
  return name ? `<a href="#schema-${esc(name)}">${esc(name)}</a>` : `<code>${esc(JSON.stringify(schema))}</code>`;
}

export function docsPage(doc: OpenApiDoc): string {
  const ops: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(methods)) {
      const body = op.requestBody?.content?.["application/json"]?.schema;
      const responses = Object.entries(op.responses ?? {}).map(([code, r]) => {
        const types = Object.entries(r.content ?? {}).map(([t, c]) => `${esc(t)}: ${schemaLink(c.schema)}`);
        return `<li><b>${esc(code)}</b> ${esc(r.description ?? "")}${
          types.length ? ` (${types.join(", ")})` : ""
        }</li>`;
      });
      ops.push(`<section class="op" id="${esc(method)}-${esc(path)}">
<h2><span class="method">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h2>
<p>${esc(op.summary ?? "")}${op.security ? ' <span class="auth">bearer token</span>' : ""}</p>
${op.description ? `<p class="desc">${esc(op.description)}</p>` : ""}
${body ? `<p>Request body: ${schemaLink(body)}</p>` : ""}
<ul>${responses.join("")}</ul>
</section>`);
    }
  }
  const schemas = Object.entries(doc.components?.schemas ?? {}).map(([name, s]) =>
    `<section id="schema-${esc(name)}"><h3>${esc(name)}</h3><pre>${esc(JSON.stringify(s, null, 2))}</pre></section>`
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)}: API</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 900px; margin: 2em auto; padding: 0 1em; color: #1d1d1f; }
  .op { border-top: 1px solid #ddd; padding-top: .4em; }
  .method { background: #2456d6; color: #fff; padding: 0 .4em; border-radius: 4px; font-size: .8em; }
  .auth { color: #8a5a00; font-size: .85em; }
  .desc { color: #444; }
  pre { background: #f4f5f7; padding: .6em; overflow-x: auto; font-size: .8em; }
</style>
</head>
<body>
<h1>${esc(doc.info.title)}</h1>
<p>${esc(doc.info.description ?? "")} Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
${ops.join("\n")}
<h2>Schemas</h2>
${schemas.join("\n")}
</body>
</html>
`;
}
