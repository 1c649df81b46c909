/**
 * The server's public socket: a TCP accept loop that gives each connection `headerTimeoutMs` to send its complete
 * request head, then hands it to the Hono app's Deno.serve on a private Unix socket. Deno.serve has no header read
 * timeout: a client that opens a connection and trickles header bytes (slowloris) would hold it forever.
 *
 * - A head not complete in time gets `408 Request Timeout`; one over `maxHeaderBytes` gets `431`; both are closed.
 * - One request per connection: the head is forwarded with `Connection: close` (any Connection / Keep-Alive header
 *   is replaced), so every request, including the next one from a keep-alive client, starts on a new connection and
 *   gets its own header deadline. HTTP/1.1 clients reconnect as needed.
 * - When the client goes away the private connection is closed too, which aborts the request's signal (a client
 *   disconnect cancels its generation).
 */
export interface GuardOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** Time from accept to the end of the request head (default 10 s). */
  headerTimeoutMs: number;
  /** Largest request head (default 64 KiB). */
  maxHeaderBytes: number;
  /** The private Unix socket Deno.serve listens on. */
  upstreamPath: string;
}

export interface GuardedListener {
  addr: Deno.NetAddr;
  /** Connections closed for a slow or oversized head, by reason. */
  refused: { headerTimeout: number; headerTooLarge: number };
  /** Open client connections. */
  open(): number;
  /** Stops accepting; open connections go on. */
  stopAccepting(): void;
  /** Closes every open connection. */
  closeAll(): void;
}

const HEAD_END = [13, 10, 13, 10];

function findHeadEnd(buf: Uint8Array, from: number): number {
  for (let i = Math.max(0, from - 3); i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i + HEAD_END.length;
  }
  return -1;
}

/** The request head with its Connection and Keep-Alive headers replaced by `Connection: close`. */
export function closeAfterOneRequest(head: string): string {
  const lines = head.slice(0, -4).split("\r\n");
  const kept = lines.filter((l, i) => i === 0 || !/^(connection|keep-alive)\s*:/i.test(l));
  return kept.join("\r\n") + "\r\nConnection: close\r\n\r\n";
}

function errorResponse(status: number, reason: string, message: string): Uint8Array {
  const body = JSON.stringify({ error: { message, type: "invalid_request_error", param: null, code: reason } });
  return new TextEncoder().encode(
    `HTTP/1.1 ${status} ${status === 408 ? "Request Timeout" : "Request Header Fields Too Large"}\r\n` +
      `content-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export function listenGuarded(o: GuardOptions): GuardedListener {
  const listener = Deno.listen({ hostname: o.hostname, port: o.port, transport: "tcp" });
  const conns = new Set<Deno.Conn>();
  const refused = { headerTimeout: 0, headerTooLarge: 0 };
  let accepting = true;

  const close = (c: Deno.Conn | null) => {
    if (!c) return;
    conns.delete(c);
    try {
      c.close();
    } catch { /* already closed */ }
  };

  const handle = async (client: Deno.Conn) => {
    conns.add(client);
    let upstream: Deno.Conn | null = null;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      refused.headerTimeout++;
      client.write(
        errorResponse(408, "header_timeout", `The request head was not received within ${o.headerTimeoutMs} ms.`),
      ).catch(() => {}).finally(() => close(client));
    }, o.headerTimeoutMs);
    try {
      let buf = new Uint8Array(0);
      let end = -1;
      const chunk = new Uint8Array(16 * 1024);
      while (end < 0) {
        const n = await client.read(chunk);
        if (n === null || timedOut) return;
        const grown = new Uint8Array(buf.length + n);
        grown.set(buf);
        grown.set(chunk.subarray(0, n), buf.length);
        const from = buf.length;
        buf = grown;
        end = findHeadEnd(buf, from);
        if (end < 0 && buf.length > o.maxHeaderBytes) {
          refused.headerTooLarge++;
          clearTimeout(timer);
          await client.write(
            errorResponse(431, "header_too_large", `The request head is larger than ${o.maxHeaderBytes} bytes.`),
          ).catch(() => {});
          return;
        }
      }
      clearTimeout(timer);
      const head = new TextEncoder().encode(closeAfterOneRequest(new TextDecoder().decode(buf.subarray(0, end))));
      upstream = await Deno.connect({ transport: "unix", path: o.upstreamPath });
      conns.add(upstream);
      await writeAll(upstream, head);
      if (end < buf.length) await writeAll(upstream, buf.subarray(end));
      const up = upstream;
      await Promise.race([
        pump(client, up).catch(() => {}),
        pump(up, client).catch(() => {}),
      ]);
    } catch {
      /* a reset connection: nothing to answer */
    } finally {
      clearTimeout(timer);
      close(upstream);
      close(client);
    }
  };

  (async () => {
    try {
      for await (const c of listener) {
        if (!accepting) {
          close(c);
          continue;
        }
        handle(c);
      }
    } catch { /* listener closed */ }
  })();

  return {
    addr: listener.addr as Deno.NetAddr,
    refused,
    open: () => conns.size,
    stopAccepting() {
      if (!accepting) return;
      accepting = false;
      try {
        listener.close();
      } catch { /* already closed */ }
    },
    closeAll() {
      for (const c of [...conns]) close(c);
    },
  };
}

async function writeAll(c: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await c.write(bytes.subarray(off));
}

/** Copies from `a` to `b` until `a` ends. */
async function pump(a: Deno.Conn, b: Deno.Conn): Promise<void> {
  const chunk = new Uint8Array(64 * 1024);
  while (true) {
    const n = await a.read(chunk);
    if (n === null) return;
    await writeAll(b, chunk.subarray(0, n));
  }
}
