/**
 * A receiver of Sparki's outgoing webhooks, a real HTTP server: it records each request (headers
 * and raw body), checks `X-Sparki-Signature-256` against the key it was given as any receiver
 * would (HMAC-SHA256 of the raw body, constant-time), and answers as told: a status per request
 * in order, then 204; or misbehaves on purpose (an answer far too large, or one that never ends).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Behaviour = { status: number; headers?: Record<string, string>; body?: string } | { huge: number } | { hang: true } | { redirect: string };

/** Whether `signature` (`sha256=<hex>`) is the HMAC of `body` under `key`. */
export function verifySignature(key: string, body: string, signature: string | undefined): boolean {
  if (!signature?.startsWith("sha256=")) return false;
  const expected = createHmac("sha256", key).update(body).digest();
  const given = Buffer.from(signature.slice(7), "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export class WebhookReceiver {
  readonly received: Received[] = [];
  readonly behaviours: Behaviour[] = [];
  #server: Server | null = null;
  #sockets = new Set<Socket>();
  #port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        this.received.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
        const b = this.behaviours.shift() ?? { status: 204 };
        if ("hang" in b) {
          res.writeHead(200, { "content-type": "text/plain" });
          res.write("still thinking");
          return; // never ends: the client's timeout must
        }
        if ("redirect" in b) {
          res.writeHead(307, { location: b.redirect });
          return res.end();
        }
        if ("huge" in b) {
          res.writeHead(500, { "content-type": "text/plain" });
          const chunk = Buffer.alloc(64 * 1024, "x");
          let sent = 0;
          const pump = () => {
            while (sent < b.huge) {
              sent += chunk.length;
              if (!res.write(chunk)) return void res.once("drain", pump);
            }
            res.end();
          };
          res.on("error", () => undefined);
          return pump();
        }
        res.writeHead(b.status, b.headers ?? {});
        res.end(b.body ?? "");
      });
    });
    this.#server.on("connection", (s) => {
      this.#sockets.add(s);
      s.on("close", () => this.#sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, "127.0.0.1", resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}
