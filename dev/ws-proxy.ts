/**
 * WebSocket-to-TCP proxy that lets the unchanged @neondatabase/serverless driver reach any local
 * Postgres (dev/pglite-server.ts or a real one), the way Neon's own proxy does in production.
 * The driver opens `ws://PROXY/v2?address=HOST:PORT` (see neonConfig.wsProxy) and speaks the
 * Postgres protocol in binary frames; this pipes those bytes to HOST:PORT and back.
 *
 * Only loopback targets are allowed: the proxy must not become a way into other machines.
 * The driver never closes its socket after Terminate, it waits for the server to hang up; so the
 * proxy follows the client's message framing and hangs up itself when it sees Terminate.
 */
import { createServer, type IncomingMessage } from "node:http";
import { connect, isIP, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import WebSocket, { WebSocketServer } from "ws";
import { CANCEL_REQUEST, GSSENC_REQUEST, SSL_REQUEST } from "./pg-wire.ts";

/** Options of {@link startWsProxy}. */
export interface WsProxyOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /** Receives diagnostic lines; silent by default. */
  log?: (line: string) => void;
}

/** A running proxy; `close()` drops every connection and frees the port. */
export interface WsProxy {
  port: number;
  /** ws://HOST:PORT — connect to `${url}/v2?address=HOST:PORT`. */
  url: string;
  /** Proxied connections currently open (a WebSocket with its TCP socket). */
  stats(): { connections: number };
  close(): Promise<void>;
}

/** Pause reading from Postgres while this much is waiting to go out on the WebSocket. */
const HIGH_WATER = 1024 * 1024;

/**
 * Follows the frontend message framing (startup packets, then typed messages) just far enough to
 * spot Terminate ('X', length 4). Gives up (stops looking) on anything it cannot follow, e.g. TLS.
 */
class TerminateSpotter {
  private state: "startup" | "typed" | "ssl-wait" | "blind" = "startup";
  private skip = 0;
  private head: number[] = [];

  /** Returns the offset just past a Terminate message in `chunk`, or -1. */
  feed(chunk: Buffer): number {
    for (let p = 0; p < chunk.length; ) {
      if (this.state === "blind" || this.state === "ssl-wait") return -1;
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - p);
        this.skip -= n;
        p += n;
        continue;
      }
      this.head.push(chunk[p++] ?? 0);
      const h = Buffer.from(this.head);
      if (this.state === "startup" && h.length === 8) {
        const len = h.readInt32BE(0);
        const code = h.readInt32BE(4);
        this.head = [];
        this.skip = len - 8;
        if (len < 8 || code === CANCEL_REQUEST) this.state = "blind";
        else if (code === SSL_REQUEST || code === GSSENC_REQUEST) this.state = "ssl-wait";
        else this.state = "typed";
      } else if (this.state === "typed" && h.length === 5) {
        const len = h.readInt32BE(1);
        this.head = [];
        if (h[0] === 0x58 && len === 4) return p;
        if (len < 4) this.state = "blind";
        this.skip = len - 4;
      }
    }
    return -1;
  }

  /** The server's one-byte answer to SSLRequest/GSSENCRequest: 'N' means plain text continues. */
  serverAnswered(first: number): void {
    if (this.state === "ssl-wait") this.state = first === 0x4e ? "startup" : "blind";
  }
}

/** Parses `HOST:PORT` (IPv6 as `::1:5432` or `[::1]:5432`); only loopback hosts pass. */
export function parseLoopbackTarget(address: string | null): { host: string; port: number } | string {
  if (!address) return "missing ?address=HOST:PORT";
  const cut = address.lastIndexOf(":");
  const host = address.slice(0, cut).replace(/^\[(.*)\]$/, "$1");
  const portText = address.slice(cut + 1);
  const port = Number(portText);
  if (cut <= 0 || !/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) return `bad address "${address}", expected HOST:PORT`;
  const loopback =
    host.toLowerCase() === "localhost" ||
    (isIP(host) === 4 && host.startsWith("127.")) ||
    (isIP(host) === 6 && /^(::1|(0+:){7}0*1|::ffff:127\.[\d.]+)$/i.test(host));
  return loopback ? { host, port } : `target ${host} refused: only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed`;
}

const toBuffer = (data: WebSocket.RawData): Buffer => (Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));

/** WebSocket close reasons are limited to 123 bytes. */
const reason = (text: string): string =>
  Buffer.from(text)
    .subarray(0, 123)
    .toString()
    .replace(/\uFFFD$/, "");

/** Starts the proxy. Resolves once it accepts connections. */
export async function startWsProxy(opts: WsProxyOptions = {}): Promise<WsProxy> {
  const log = opts.log ?? (() => {});
  const host = opts.host ?? "127.0.0.1";
  const open = new Set<{ ws: WebSocket; tcp: Socket }>();

  const http = createServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" });
    res.end("sparki ws-proxy: connect with a WebSocket to /v2?address=HOST:PORT\n");
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 * 1024 });
  http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const url = new URL(req.url ?? "/", "http://proxy");
    const target =
      url.pathname === "/v2" || url.pathname === "/"
        ? parseLoopbackTarget(url.searchParams.get("address"))
        : `unknown path ${url.pathname}, use /v2?address=HOST:PORT`;
    if (typeof target === "string") {
      // Refuse after the upgrade, so that the client sees a close reason and not just a failed handshake.
      log(`refused: ${target}`);
      wss.handleUpgrade(req, socket, head, (ws) => ws.close(1008, reason(`sparki ws-proxy: ${target}`)));
      return;
    }
    // Reach the server before accepting the WebSocket: a client told "no" during the handshake
    // fails its connect cleanly, while one whose open socket is closed at once may already have
    // queued its startup message (the Neon driver then writes into a closed socket).
    const tcp = connect({ host: target.host, port: target.port });
    tcp.once("error", (err: NodeJS.ErrnoException) => {
      log(`tcp ${target.host}:${target.port}: ${err.message}`);
      const why = `sparki ws-proxy: ${target.host}:${target.port}: ${err.code ?? err.message}`;
      socket.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(why)}\r\nConnection: close\r\n\r\n${why}`);
    });
    tcp.once("connect", () => {
      tcp.removeAllListeners("error");
      wss.handleUpgrade(req, socket, head, (ws) => relay(ws, tcp, target));
    });
  });

  function relay(ws: WebSocket, tcp: Socket, target: { host: string; port: number }): void {
    ws.on("error", (err) => log(`ws error: ${err.message}`));
    const pair = { ws, tcp };
    open.add(pair);
    tcp.setNoDelay(true);
    const spotter = new TerminateSpotter();
    let first = true;
    const finish = (code: number, why: string): void => {
      open.delete(pair);
      tcp.destroy();
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason(why));
    };

    ws.on("message", (data) => {
      const buf = toBuffer(data);
      const cut = spotter.feed(buf);
      if (cut >= 0) {
        // Forward the Terminate, then hang up both sides as a real server would.
        tcp.end(buf.subarray(0, cut));
        open.delete(pair);
        ws.close(1000, "terminated");
        return;
      }
      if (!tcp.write(buf)) ws.pause();
    });
    tcp.on("drain", () => ws.resume());
    tcp.on("data", (d: Buffer) => {
      if (first) spotter.serverAnswered(d[0] ?? 0);
      first = false;
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(d, { binary: true }, () => {
        if (ws.bufferedAmount < HIGH_WATER) tcp.resume();
      });
      if (ws.bufferedAmount >= HIGH_WATER) tcp.pause();
    });
    tcp.on("error", (err: NodeJS.ErrnoException) => {
      log(`tcp ${target.host}:${target.port}: ${err.message}`);
      finish(1011, `sparki ws-proxy: ${target.host}:${target.port}: ${err.code ?? err.message}`);
    });
    tcp.on("close", () => finish(1000, "server closed the connection"));
    ws.on("close", () => {
      open.delete(pair);
      tcp.destroy();
    });
  }

  await new Promise<void>((ok, fail) => {
    http.once("error", fail);
    http.listen(opts.port ?? 0, host, () => ok());
  });
  http.on("error", (err) => log(`ws-proxy: ${err.message}`));
  const addr = http.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  log(`ws-proxy listening on ${urlHost}:${port}`);

  return {
    port,
    url: `ws://${urlHost}:${port}`,
    stats: () => ({ connections: open.size }),
    async close() {
      const stopped = new Promise<void>((ok) => http.close(() => ok()));
      for (const { ws, tcp } of open) {
        tcp.destroy();
        ws.terminate();
      }
      open.clear();
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((ok) => wss.close(() => ok()));
      http.closeAllConnections();
      await stopped;
    },
  };
}
