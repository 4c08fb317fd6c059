/**
 * The local sites origin. `npm run dev` serves sparki-static sites at
 * `http://<site>.localhost:<sites port>/` (SITES_ORIGIN=http://localhost:<sites port>): each site
 * on a host of its own, which browsers resolve to this machine and which shares no cookie with
 * the dashboard on 127.0.0.1 (cookies ignore ports, so only another host keeps them apart). This
 * forwarder listens on the sites port and hands each request, Host header untouched, to
 * `wrangler dev`, where the Worker decides by the host that it is a site's.
 */
import { request as httpRequest, createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface SitesProxy {
  port: number;
  /** The sites origin to give the Worker as SITES_ORIGIN. */
  origin: string;
  close(): Promise<void>;
}

/** `workerPort` is asked per request: the stack may move wrangler to another port while starting. */
export async function startSitesProxy(options: { port: number; workerPort: () => number }): Promise<SitesProxy> {
  const server = createServer((req, res) => {
    const upstream = httpRequest({ host: "127.0.0.1", port: options.workerPort(), method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", (err) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain; charset=utf-8" });
      res.end(`The local Worker did not answer: ${err.message}`);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `http://localhost:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * fetch for a local site's address: Node does not resolve `*.localhost` (browsers and curl do),
 * so this connects to 127.0.0.1 and sends the site's host. Redirects are not followed.
 */
export function fetchSite(url: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port: Number(target.port || 80),
        method: init.method ?? "GET",
        path: target.pathname + target.search,
        headers: { ...init.headers, host: target.host },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const bodyless = init.method === "HEAD" || res.statusCode === 204 || res.statusCode === 304;
          resolve(new Response(bodyless ? null : Buffer.concat(chunks), { status: res.statusCode ?? 502, headers: toHeaders(res.headers) }));
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function toHeaders(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  return headers;
}
