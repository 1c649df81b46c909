/**
 * A bounded loopback load test for the server: a fixed number of chat requests (each with one image) sent by a
 * fixed number of concurrent workers; it stops by itself. Reports throughput, latency percentiles, time to first
 * token (streaming), /healthz latency while the load runs, and errors by kind. Used by `deno task bench:serve`.
 */
export interface LoadTestOptions {
  /** Base URL of a running server, e.g. http://127.0.0.1:8080 */
  url: string;
  requests: number;
  concurrency: number;
  stream: boolean;
  maxTokens: number;
  imageDataUrl: string;
  question: string;
  model?: string;
  apiKey?: string;
  /** Per-request client timeout. */
  timeoutMs: number;
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
}

export interface LoadTestReport {
  requests: number;
  concurrency: number;
  stream: boolean;
  maxTokens: number;
  ok: number;
  /** Failed requests by kind: HTTP status ("429"), "timeout", "network", "stream_error". */
  errors: Record<string, number>;
  wallS: number;
  throughputRps: number;
  completionTokens: number;
  completionTokensPerS: number;
  latencyMs: Percentiles | null;
  /** Time to the first content token; streaming only. */
  ttftMs: Percentiles | null;
  /** GET /healthz round trips, polled every 50 ms while the load ran. */
  healthzMs: Percentiles | null;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

/** p50/p95/p99/mean/max of `values`, rounded to 0.01; null when empty. */
export function summarize(values: number[]): Percentiles | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    p50: r(percentile(s, 50)),
    p95: r(percentile(s, 95)),
    p99: r(percentile(s, 99)),
    mean: r(s.reduce((a, b) => a + b, 0) / s.length),
    max: r(s[s.length - 1]),
  };
}

interface Outcome {
  ok: boolean;
  error?: string;
  latencyMs: number;
  ttftMs?: number;
  completionTokens: number;
}

async function oneRequest(o: LoadTestOptions): Promise<Outcome> {
  const t0 = performance.now();
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
  const body = JSON.stringify({
    ...(o.model ? { model: o.model } : {}),
    messages: [{
      role: "user",
      content: [{ type: "image_url", image_url: { url: o.imageDataUrl } }, { type: "text", text: o.question }],
    }],
    max_tokens: o.maxTokens,
    temperature: 0,
    stream: o.stream,
    ...(o.stream ? { stream_options: { include_usage: true } } : {}),
  });
  const signal = AbortSignal.timeout(o.timeoutMs);
  const fail = (error: string): Outcome => ({
    ok: false,
    error,
    latencyMs: performance.now() - t0,
    completionTokens: 0,
  });
  try {
    const res = await fetch(`${o.url}/v1/chat/completions`, { method: "POST", headers, body, signal });
    if (!res.ok) {
      await res.body?.cancel();
      return fail(String(res.status));
    }
    if (!o.stream) {
      const json = await res.json() as { usage?: { completion_tokens?: number } };
      return { ok: true, latencyMs: performance.now() - t0, completionTokens: json.usage?.completion_tokens ?? 0 };
    }
    let ttftMs: number | undefined;
    let tokens = 0;
    let done = false;
    let buf = "";
    const decoder = new TextDecoder();
    for await (const bytes of res.body!) {
      buf += decoder.decode(bytes, { stream: true });
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const line = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") {
          done = true;
          continue;
        }
        const chunk = JSON.parse(data) as {
          error?: unknown;
          choices?: { delta?: { content?: string } }[];
          usage?: { completion_tokens: number };
        };
        if (chunk.error) return fail("stream_error");
        if (chunk.choices?.[0]?.delta?.content && ttftMs === undefined) ttftMs = performance.now() - t0;
        if (chunk.usage) tokens = chunk.usage.completion_tokens;
      }
    }
    if (!done) return fail("stream_error");
    return { ok: true, latencyMs: performance.now() - t0, ttftMs, completionTokens: tokens };
  } catch (e) {
    return fail(e instanceof DOMException && e.name === "TimeoutError" ? "timeout" : "network");
  }
}

export async function runLoadTest(o: LoadTestOptions): Promise<LoadTestReport> {
  let next = 0;
  const outcomes: Outcome[] = [];
  const t0 = performance.now();
  const worker = async () => {
    while (next < o.requests) {
      next++;
      outcomes.push(await oneRequest(o));
    }
  };
  let loading = true;
  const healthz: number[] = [];
  const poller = (async () => {
    while (loading) {
      const h0 = performance.now();
      try {
        const h = await fetch(`${o.url}/healthz`, { signal: AbortSignal.timeout(o.timeoutMs) });
        await h.body?.cancel();
        healthz.push(performance.now() - h0);
      } catch { /* counted by its absence */ }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, o.requests)) }, worker));
  loading = false;
  await poller;
  const wallS = (performance.now() - t0) / 1000;
  const good = outcomes.filter((x) => x.ok);
  const errors: Record<string, number> = {};
  for (const x of outcomes) if (!x.ok) errors[x.error!] = (errors[x.error!] ?? 0) + 1;
  const completionTokens = good.reduce((a, x) => a + x.completionTokens, 0);
  return {
    requests: o.requests,
    concurrency: o.concurrency,
    stream: o.stream,
    maxTokens: o.maxTokens,
    ok: good.length,
    errors,
    wallS: Math.round(wallS * 1000) / 1000,
    throughputRps: Math.round((good.length / wallS) * 100) / 100,
    completionTokens,
    completionTokensPerS: Math.round((completionTokens / wallS) * 10) / 10,
    latencyMs: summarize(good.map((x) => x.latencyMs)),
    ttftMs: o.stream ? summarize(good.flatMap((x) => x.ttftMs === undefined ? [] : [x.ttftMs])) : null,
    healthzMs: summarize(healthz),
  };
}
