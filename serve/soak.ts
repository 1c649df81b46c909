/**
 * A bounded loopback soak of a running server: for `durationS` seconds, valid clients (enough to keep the queue at
 * its limit) and hostile clients (serve/hostile_traffic.ts bodies, request heads that never finish, uploads and
 * streams aborted halfway) share the server. It reports whether every valid request was answered (a 429 or 503 is
 * retried after its Retry-After, as a client should), whether anything got a 5xx, whether every hostile request got
 * the answer its case expects, how the server's resident memory moved (GET /metrics process_resident_memory_bytes,
 * sampled after a warm-up and at the end), and /healthz latency throughout. Used by tests/serve/soak_test.ts (short)
 * and `deno task bench:serve --soak SECONDS` (the full run).
 */
import { Rng } from "../core/random.ts";
import { hostileCase, makePng, toBase64 } from "./hostile_traffic.ts";
import { type Percentiles, summarize } from "./load_test.ts";

export interface SoakOptions {
  /** Base URL of the server; must be loopback (127.0.0.1, ::1 or localhost). */
  url: string;
  durationS: number;
  /** Valid clients in parallel: the server's queue limit + 2 keeps its queue full. */
  validConcurrency: number;
  hostileConcurrency: number;
  /** max_tokens of valid requests. */
  maxTokens: number;
  modelName: string;
  /** The server's engine decodes images (the real model): deflate bombs are then 400s. */
  decodesImages: boolean;
  /** The server's body limit (hostile "too large" bodies exceed it). */
  maxBodyBytes: number;
  /** The server's header deadline: slow-head attacks wait for its 408. */
  headerTimeoutMs: number;
  seed: number;
  apiKey?: string;
  /** Seconds of traffic before the "before" memory sample (JIT, pools and first-use allocations settle). */
  warmupS: number;
  /** A valid request not answered in this time counts as failed. */
  requestTimeoutMs: number;
}

export interface SoakReport {
  durationS: number;
  valid: {
    /** Requests answered with a complete 200 (a JSON answer, or a stream ending with its finish chunk and [DONE]). */
    answered: number;
    /** Requests started (each answered or failed). */
    requests: number;
    /** 429 / 503 answers that were retried after Retry-After. */
    retried: number;
    /** Requests not answered, by reason. */
    failed: Record<string, number>;
    latencyMs: Percentiles | null;
  };
  hostile: {
    sent: number;
    asExpected: number;
    byKind: Record<string, number>;
    /** The first few that did not get the expected answer. */
    unexpected: string[];
    slowHeads: number;
    abortedUploads: number;
    abortedStreams: number;
  };
  /** Responses with a 5xx status to any request of the soak (valid or hostile). */
  status5xx: number;
  rss: { beforeBytes: number; afterBytes: number; peakBytes: number; growth: number };
  healthzMs: Percentiles | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const target = new URL(o.url);
  if (!["127.0.0.1", "[::1]", "localhost"].includes(target.hostname)) {
    throw new Error(`the soak only runs against loopback; ${o.url} is not (use 127.0.0.1)`);
  }
  const auth: Record<string, string> = o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {};
  const port = Number(target.port);
  const t0 = performance.now();
  const endAt = t0 + o.durationS * 1000;
  const running = () => performance.now() < endAt;
  const rng = new Rng(o.seed);
  let status5xx = 0;
  const note5xx = (status: number) => {
    if (status >= 500) status5xx++;
  };

  // ── memory and /healthz probes ────────────────────────────────────────────────────────────────────────────────
  const rssSamples: { at: number; bytes: number }[] = [];
  const readRss = async (): Promise<number> => {
    const res = await fetch(`${o.url}/metrics`);
    const m = /^process_resident_memory_bytes (\d+)/m.exec(await res.text());
    if (!m) throw new Error(`${o.url}/metrics has no process_resident_memory_bytes`);
    return Number(m[1]);
  };
  const healthz: number[] = [];
  const probes = (async () => {
    let lastRss = 0;
    while (running()) {
      const h0 = performance.now();
      const h = await fetch(`${o.url}/healthz`);
      await h.body?.cancel();
      note5xx(h.status === 503 ? 200 : h.status); // 503 here is a state report, not a fault
      healthz.push(performance.now() - h0);
      if (performance.now() - lastRss > 2000) {
        lastRss = performance.now();
        rssSamples.push({ at: (lastRss - t0) / 1000, bytes: await readRss() });
      }
      await sleep(100);
    }
  })();

  // ── valid clients ─────────────────────────────────────────────────────────────────────────────────────────────
  const images = [[32, 24], [64, 48], [96, 96], [160, 120]].map(([w, h]) =>
    `data:image/png;base64,${toBase64(makePng(w, h))}`
  );
  const valid = { answered: 0, requests: 0, retried: 0, failed: {} as Record<string, number>, latency: [] as number[] };
  const fail = (why: string) => valid.failed[why] = (valid.failed[why] ?? 0) + 1;
  const validRequest = (i: number): { path: string; body: string; stream: boolean } => {
    const image = images[i % images.length];
    const question =
      ["Which cube is closer to the camera?", "How many chairs are there?", "Is the lamp left of the sofa?"][i % 3];
    if (i % 3 === 2) {
      return {
        path: "/v1/vqa",
        stream: false,
        body: JSON.stringify({ images: [image], question, max_tokens: o.maxTokens }),
      };
    }
    const stream = i % 3 === 1;
    return {
      path: "/v1/chat/completions",
      stream,
      body: JSON.stringify({
        model: o.modelName,
        messages: [{
          role: "user",
          content: [{ type: "image_url", image_url: { url: image } }, { type: "text", text: question }],
        }],
        max_tokens: o.maxTokens,
        temperature: i % 2 ? 0 : 0.7,
        seed: i,
        stream,
      }),
    };
  };
  const sendValid = async (i: number) => {
    const req = validRequest(i);
    const started = performance.now();
    valid.requests++;
    while (performance.now() - started < o.requestTimeoutMs) {
      let res: Response;
      try {
        res = await fetch(`${o.url}${req.path}`, {
          method: "POST",
          headers: { "content-type": "application/json", ...auth },
          body: req.body,
          signal: AbortSignal.timeout(o.requestTimeoutMs),
        });
      } catch (e) {
        return fail(e instanceof DOMException && e.name === "TimeoutError" ? "timeout" : "network");
      }
      note5xx(res.status === 503 ? 200 : res.status);
      if (res.status === 429 || res.status === 503) {
        valid.retried++;
        await res.body?.cancel();
        await sleep(1000 * Math.min(2, Number(res.headers.get("retry-after") ?? "1")));
        continue;
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        return fail(`status ${res.status}`);
      }
      const text = await res.text().catch(() => null);
      if (text === null) return fail("body broke off");
      const complete = req.stream
        ? text.endsWith("data: [DONE]\n\n") && /"finish_reason":"(stop|length)"/.test(text)
        : /"(answer|choices)"/.test(text);
      if (!complete) return fail("incomplete answer");
      valid.answered++;
      valid.latency.push(performance.now() - started);
      return;
    }
    fail("retried past the request timeout");
  };
  let nextValid = 0;
  const validClient = async () => {
    while (running()) await sendValid(nextValid++);
  };

  // ── hostile clients ───────────────────────────────────────────────────────────────────────────────────────────
  const hostile = {
    sent: 0,
    asExpected: 0,
    byKind: {} as Record<string, number>,
    unexpected: [] as string[],
    slowHeads: 0,
    abortedUploads: 0,
    abortedStreams: 0,
  };
  const hostileOpts = { maxBodyBytes: o.maxBodyBytes, modelName: o.modelName, decodesImages: o.decodesImages };
  let nextHostile = 0;
  const attack = async (k: number) => {
    if (k === 0) { // a request head that never finishes: the header deadline must answer 408
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        await c.write(new TextEncoder().encode("POST /v1/vqa HTTP/1.1\r\nHost: x\r\n"));
        const buf = new Uint8Array(256);
        const n = await Promise.race([c.read(buf), sleep(o.headerTimeoutMs + 5000).then(() => null)]);
        const head = n ? new TextDecoder().decode(buf.subarray(0, n)) : "";
        hostile.slowHeads++;
        if (!/^HTTP\/1\.1 408/.test(head)) hostile.unexpected.push(`slow head -> ${JSON.stringify(head.slice(0, 40))}`);
      } finally {
        c.close();
      }
    } else if (k === 1) { // an upload cut off halfway
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      await c.write(new TextEncoder().encode(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 90000\r\n\r\n" +
          `{"messages":[{"role":"user","content":"${"b".repeat(3000)}`,
      ));
      await sleep(10);
      c.close();
      hostile.abortedUploads++;
    } else { // a stream the client walks away from after its first bytes
      const control = new AbortController();
      try {
        const res = await fetch(`${o.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", ...auth },
          body: JSON.stringify({
            messages: [{ role: "user", content: "Describe the scene." }],
            max_tokens: 64,
            stream: true,
          }),
          signal: control.signal,
        });
        note5xx(res.status === 503 ? 200 : res.status);
        if (res.status === 200) await res.body!.getReader().read();
        else await res.body?.cancel();
      } catch { /* aborted */ }
      control.abort();
      hostile.abortedStreams++;
    }
  };
  const hostileClient = async () => {
    while (running()) {
      const i = nextHostile++;
      if (i % 10 === 9) {
        await attack(Math.floor(i / 10) % 3);
        continue;
      }
      const c = hostileCase(rng, i, hostileOpts);
      hostile.sent++;
      hostile.byKind[c.kind] = (hostile.byKind[c.kind] ?? 0) + 1;
      const headers: Record<string, string> = { ...auth };
      if (c.contentType) headers["content-type"] = c.contentType;
      let status = 0, text = "";
      try {
        const res = await fetch(`${o.url}${c.path}`, { method: "POST", headers, body: c.body as BodyInit });
        status = res.status;
        text = await res.text();
      } catch (e) {
        text = String(e);
      }
      note5xx(status);
      // a hostile-but-valid request may meet a full queue like any other: 429 is then the right answer
      const ok = c.expect === "200" ? status === 200 || status === 429 : status >= 400 && status < 500;
      if (ok) hostile.asExpected++;
      else if (hostile.unexpected.length < 10) {
        hostile.unexpected.push(`${c.kind} ${c.path} -> ${status} ${text.slice(0, 100)}`);
      }
    }
  };

  // ── run ───────────────────────────────────────────────────────────────────────────────────────────────────────
  const clients = [
    ...Array.from({ length: o.validConcurrency }, validClient),
    ...Array.from({ length: o.hostileConcurrency }, hostileClient),
  ];
  await sleep(Math.min(o.warmupS, o.durationS / 2) * 1000);
  const beforeBytes = await readRss();
  await Promise.all(clients);
  await probes;
  await sleep(1000); // let the last responses and their buffers go
  const afterBytes = await readRss();
  const peakBytes = Math.max(beforeBytes, afterBytes, ...rssSamples.map((s) => s.bytes));
  return {
    durationS: Math.round((performance.now() - t0) / 100) / 10,
    valid: {
      answered: valid.answered,
      requests: valid.requests,
      retried: valid.retried,
      failed: valid.failed,
      latencyMs: summarize(valid.latency),
    },
    hostile,
    status5xx,
    rss: { beforeBytes, afterBytes, peakBytes, growth: afterBytes / beforeBytes - 1 },
    healthzMs: summarize(healthz),
  };
}
