/**
 * Puts a createApp() app on a socket and shuts it down gracefully. serve/ tests and tasks/serve.ts both use this.
 *
 * The public TCP socket is serve/connection_guard.ts (a header read deadline for every request); the app itself
 * listens on a private Unix socket behind it.
 *
 * Shutdown: stop accepting connections; refuse the queued requests at once with 503 + Retry-After (they were not
 * started); let the running generation finish for up to `graceMs`; then cancel it (a stream ends with
 * finish_reason "cancelled" and `data: [DONE]`); then close the sockets and resolve.
 */
import { join } from "node:path";
import { EngineQueue, type QueueOptions } from "../core/engine/queue.ts";
import type { InferenceEngine } from "../core/engine/types.ts";
import { type AppOptions, appState, checkApiKey, createApp } from "./app.ts";
import { type GuardedListener, listenGuarded } from "./connection_guard.ts";
import type { ServeMetrics } from "./metrics.ts";

export interface ServerOptions extends Omit<AppOptions, "queue"> {
  hostname?: string;
  /** 0 picks a free port. */
  port?: number;
  queue?: Partial<QueueOptions>;
  /** How long shutdown waits for the running generation before cancelling it (default 10 s). */
  graceMs?: number;
  /** Time from accepting a connection to the end of its request head; 408 after (default 10 s). */
  headerTimeoutMs?: number;
  /** Largest request head in bytes; 431 beyond (default 64 KiB). */
  maxHeaderBytes?: number;
  onListen?: (addr: Deno.NetAddr) => void;
}

export interface RunningServer {
  addr: Deno.NetAddr;
  url: string;
  queue: EngineQueue;
  metrics: ServeMetrics;
  /** Connections the header deadline closed, by reason. */
  guard: GuardedListener;
  /** Graceful shutdown; safe to call more than once. Resolves when the sockets are closed and work has ended. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

export const DEFAULT_GRACE_MS = 10_000;
export const DEFAULT_HEADER_TIMEOUT_MS = 10_000;

/** Starts `engine` behind createApp on a guarded TCP socket; see the module comment for shutdown. */
export function startServer(engine: InferenceEngine, options: ServerOptions = {}): RunningServer {
  checkApiKey(options.apiKey);
  const queue = new EngineQueue(engine, options.queue);
  const app = createApp(engine, { ...options, queue });
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const socketDir = Deno.makeTempDirSync({ prefix: "gasp-serve-" });
  const socketPath = join(socketDir, "app.sock");
  const server = Deno.serve({ path: socketPath, onListen: () => {} }, app.fetch);
  const guard = listenGuarded({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 8080,
    headerTimeoutMs: options.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS,
    maxHeaderBytes: options.maxHeaderBytes ?? 64 * 1024,
    upstreamPath: socketPath,
  });
  const addr = guard.addr;
  options.onListen?.(addr);
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  let stopping: Promise<void> | null = null;
  const finished = server.finished.then(() => Deno.remove(socketDir, { recursive: true }).catch(() => {}));
  const shutdown = () => {
    stopping ??= (async () => {
      guard.stopAccepting();
      queue.close(); // waiting requests get 503 now; /healthz says "draining"
      let timer: ReturnType<typeof setTimeout> | undefined;
      const graceOver = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), graceMs));
      const outcome = await Promise.race([queue.idle().then(() => "idle" as const), graceOver]);
      clearTimeout(timer);
      if (outcome === "timeout") queue.cancelAll("server shutdown: grace period over");
      await queue.idle();
      // responses still open (a stream's last bytes) get a moment to flush through the guard, then sockets close
      await server.shutdown();
      const t0 = performance.now();
      while (guard.open() > 0 && performance.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 5));
      guard.closeAll();
      await finished;
    })();
    return stopping;
  };
  const metrics = appState(app).metrics;
  return { addr, url: `http://${host}:${addr.port}`, queue, metrics, guard, shutdown, finished };
}
