/**
 * Prometheus text exposition (format 0.0.4) for the server: requests by route and status, request latency histogram,
 * generation latency, time to first token, queue depth, tokens. Route labels come from a fixed list so that
 * arbitrary paths cannot blow up label cardinality.
 */
import type { QueueStats } from "../core/engine/queue.ts";
import type { FinishReason } from "../core/engine/types.ts";

/** Seconds. Covers a cached 404 (1 ms) up to a long answer on the WASM EP (2 min). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

class Histogram {
  counts = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  sum = 0;
  count = 0;
  observe(v: number): void {
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) if (v <= LATENCY_BUCKETS[i]) this.counts[i]++;
    this.sum += v;
    this.count++;
  }
  render(name: string, labels: string): string[] {
    const sep = labels ? "," : "";
    const lines = LATENCY_BUCKETS.map((b, i) => `${name}_bucket{${labels}${sep}le="${b}"} ${this.counts[i]}`);
    lines.push(`${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`);
    const braces = labels ? `{${labels}}` : "";
    lines.push(`${name}_sum${braces} ${this.sum}`, `${name}_count${braces} ${this.count}`);
    return lines;
  }
}

export const KNOWN_ROUTES = [
  "/",
  "/healthz",
  "/metrics",
  "/openapi.json",
  "/docs",
  "/v1/models",
  "/v1/vqa",
  "/v1/chat/completions",
];

export function routeLabel(path: string): string {
  if (KNOWN_ROUTES.includes(path)) return path;
  if (path.startsWith("/v1/models/")) return "/v1/models/:id";
  return "other";
}

export class ServeMetrics {
  #requests = new Map<string, number>(); // key: route\tmethod\tstatus
  #latency = new Map<string, Histogram>(); // key: route
  #generation = new Histogram();
  #ttft = new Histogram();
  #finish = new Map<FinishReason | "error", number>();
  promptTokens = 0;
  completionTokens = 0;

  recordRequest(route: string, method: string, status: number, seconds: number): void {
    const key = `${route}\t${method}\t${status}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    let h = this.#latency.get(route);
    if (!h) this.#latency.set(route, h = new Histogram());
    h.observe(seconds);
  }

  recordGeneration(
    finish: FinishReason | "error",
    seconds: number,
    promptTokens: number,
    completionTokens: number,
  ): void {
    this.#finish.set(finish, (this.#finish.get(finish) ?? 0) + 1);
    this.#generation.observe(seconds);
    this.promptTokens += promptTokens;
    this.completionTokens += completionTokens;
  }

  recordFirstToken(seconds: number): void {
    this.#ttft.observe(seconds);
  }

  /** Total requests counted for a route (all statuses), for tests. */
  requestCount(route: string, status?: number): number {
    let n = 0;
    for (const [k, v] of this.#requests) {
      const [r, , s] = k.split("\t");
      if (r === route && (status === undefined || Number(s) === status)) n += v;
    }
    return n;
  }

  render(queue: QueueStats, ready: boolean, engineId: string, modelName: string): string {
    const out: string[] = [];
    out.push("# HELP gasp_build_info Engine and model served.", "# TYPE gasp_build_info gauge");
    out.push(`gasp_build_info{engine="${esc(engineId)}",model="${esc(modelName)}"} 1`);
    out.push("# HELP gasp_engine_ready 1 when the model is loaded and the server accepts work.");
    out.push("# TYPE gasp_engine_ready gauge", `gasp_engine_ready ${ready ? 1 : 0}`);
    out.push("# HELP gasp_http_requests_total HTTP requests by route, method and status.");
    out.push("# TYPE gasp_http_requests_total counter");
    for (const [k, v] of [...this.#requests].sort()) {
      const [route, method, status] = k.split("\t");
      out.push(`gasp_http_requests_total{route="${esc(route)}",method="${method}",status="${status}"} ${v}`);
    }
    out.push("# HELP gasp_http_request_duration_seconds Time to response headers, by route.");
    out.push("# TYPE gasp_http_request_duration_seconds histogram");
    for (const [route, h] of [...this.#latency].sort()) {
      out.push(...h.render("gasp_http_request_duration_seconds", `route="${esc(route)}"`));
    }
    out.push("# HELP gasp_generation_duration_seconds Time from submission to the end of generation.");
    out.push("# TYPE gasp_generation_duration_seconds histogram");
    out.push(...this.#generation.render("gasp_generation_duration_seconds", ""));
    out.push("# HELP gasp_time_to_first_token_seconds Time from submission to the first generated token.");
    out.push("# TYPE gasp_time_to_first_token_seconds histogram");
    out.push(...this.#ttft.render("gasp_time_to_first_token_seconds", ""));
    out.push("# HELP gasp_generations_total Finished generations by finish reason.");
    out.push("# TYPE gasp_generations_total counter");
    for (const [reason, v] of [...this.#finish].sort()) {
      out.push(`gasp_generations_total{finish_reason="${reason}"} ${v}`);
    }
    out.push("# HELP gasp_tokens_total Tokens processed, by kind.", "# TYPE gasp_tokens_total counter");
    out.push(`gasp_tokens_total{kind="prompt"} ${this.promptTokens}`);
    out.push(`gasp_tokens_total{kind="completion"} ${this.completionTokens}`);
    out.push("# HELP gasp_queue_depth Generations waiting (state=waiting) or running (state=running).");
    out.push("# TYPE gasp_queue_depth gauge");
    out.push(
      `gasp_queue_depth{state="waiting"} ${queue.waiting}`,
      `gasp_queue_depth{state="running"} ${queue.running}`,
    );
    out.push("# HELP gasp_queue_rejected_total Requests refused with 429 because the queue was full.");
    out.push("# TYPE gasp_queue_rejected_total counter", `gasp_queue_rejected_total ${queue.rejected}`);
    // The process's resident memory (the engine Workers share it): the soak test watches it for growth.
    out.push("# HELP process_resident_memory_bytes Resident memory size in bytes.");
    out.push("# TYPE process_resident_memory_bytes gauge", `process_resident_memory_bytes ${Deno.memoryUsage().rss}`);
    return out.join("\n") + "\n";
  }
}

function esc(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
