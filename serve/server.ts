/**
 * Puts a createApp() app on a socket and shuts it down gracefully: stop accepting connections, let in-flight
 * generations finish for up to `graceMs`, cancel whatever is left (streams end with their finish chunk and
 * `data: [DONE]`), then resolve. serve/ tests and tasks/serve.ts both use this.
 */
import { EngineQueue, type QueueOptions } from "../core/engine/queue.ts";
import type { InferenceEngine } from "../core/engine/types.ts";
import { type AppOptions, createApp } from "./app.ts";

export interface ServerOptions extends Omit<AppOptions, "queue"> {
  hostname?: string;
  /** 0 picks a free port. */
  port?: number;
  queue?: Partial<QueueOptions>;
  /** How long shutdown waits for in-flight work before cancelling it. */
  graceMs?: number;
  onListen?: (addr: Deno.NetAddr) => void;
}

export interface RunningServer {
  addr: Deno.NetAddr;
  url: string;
  queue: EngineQueue;
  /** Graceful shutdown; safe to call more than once. Resolves when the socket is closed and work has ended. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

export function startServer(engine: InferenceEngine, options: ServerOptions = {}): RunningServer {
  const queue = new EngineQueue(engine, options.queue);
  const app = createApp(engine, { ...options, queue });
  const graceMs = options.graceMs ?? 10_000;
  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 8080,
    onListen: (addr) => options.onListen?.(addr),
  }, app.fetch);
  const addr = server.addr as Deno.NetAddr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  let stopping: Promise<void> | null = null;
  const shutdown = () => {
    stopping ??= (async () => {
      queue.close(); // new generations now get 503; /healthz says "draining"
      const closed = server.shutdown(); // stops accepting, waits for open responses to end
      let timer: ReturnType<typeof setTimeout> | undefined;
      const graceOver = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), graceMs));
      const outcome = await Promise.race([queue.idle().then(() => "idle" as const), graceOver]);
      clearTimeout(timer);
      if (outcome === "timeout") queue.cancelAll("server shutdown: grace period over");
      await closed;
    })();
    return stopping;
  };
  return { addr, url: `http://${host}:${addr.port}`, queue, shutdown, finished: server.finished };
}
