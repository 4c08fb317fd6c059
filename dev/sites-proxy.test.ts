import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fetchSite, startSitesProxy, type SitesProxy } from "./sites-proxy.js";

let worker: Server;
let proxy: SitesProxy;

beforeAll(async () => {
  // Stands in for wrangler dev: echoes what it was asked.
  worker = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => res.writeHead(201, { "x-host": req.headers.host ?? "", "set-cookie": ["a=1", "b=2"] }).end(`${req.method} ${req.url} ${body}`));
  });
  await new Promise<void>((resolve) => worker.listen(0, "127.0.0.1", resolve));
  proxy = await startSitesProxy({ port: 0, workerPort: () => (worker.address() as AddressInfo).port });
});

afterAll(async () => {
  await proxy.close();
  await new Promise((resolve) => worker.close(resolve));
});

it("forwards a site's request to the Worker with its Host untouched, and fetchSite reaches *.localhost", async () => {
  expect(proxy.origin).toBe(`http://localhost:${proxy.port}`);
  const res = await fetchSite(`http://abc.localhost:${proxy.port}/a/b?c=1`, { method: "GET" });
  expect(res.status).toBe(201);
  expect(res.headers.get("x-host")).toBe(`abc.localhost:${proxy.port}`);
  expect(res.headers.get("set-cookie")).toBe("a=1, b=2");
  expect(await res.text()).toBe("GET /a/b?c=1 ");
});
