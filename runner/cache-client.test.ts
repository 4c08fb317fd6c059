/**
 * A cache download that the API redirects to a presigned R2 URL (R2's S3 credentials set): the
 * runner follows it and gets the bytes, and the job token does not travel to the other origin.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, expect, it } from "vitest";
import { CacheClient } from "./cache-client.ts";
import { ControlPlaneClient } from "./client.ts";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

it("follows a redirect to a presigned URL without sending the job token there", async () => {
  let storeHeaders: IncomingHttpHeaders = {};
  // "localhost" and 127.0.0.1 are different origins to fetch.
  const store = (
    await serve((req, res) => {
      storeHeaders = req.headers;
      res.writeHead(200, { "content-length": "5" }).end("bytes");
    })
  ).replace("127.0.0.1", "localhost");
  const api = await serve((req, res) => {
    expect(req.headers.authorization).toBe("Bearer job-token");
    res.writeHead(302, { location: `${store}/presigned?X-Amz-Signature=abc` }).end();
  });
  const caches = new CacheClient(new ControlPlaneClient(api, "job-token"), "job-1", { leaseId: "lease", fencingToken: 1 });
  const stream = await caches.download("5f0c6f0e-0000-4000-8000-000000000000", AbortSignal.timeout(10_000));
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  expect(Buffer.concat(chunks).toString()).toBe("bytes");
  expect(storeHeaders.authorization).toBeUndefined();
});
