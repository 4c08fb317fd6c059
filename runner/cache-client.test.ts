/**
 * Caches moved by presigned R2 URLs (R2's S3 credentials set), against small real HTTP servers
 * standing for the API and R2: a download the API redirects is followed without the job token,
 * and a save goes straight to R2 with the signed headers, then is committed.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Job } from "../core/contracts/runner.ts";
import { saveCache } from "./cache.ts";
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

it("saves straight to R2 on the reserved URL with the signed headers, then commits", async () => {
  const work = await mkdtemp(join(tmpdir(), "sparki-cache-presign-"));
  try {
    const roots = { home: join(work, "home"), src: join(work, "src") };
    await mkdir(join(roots.home, ".npm"), { recursive: true });
    await mkdir(roots.src);
    await writeFile(join(roots.home, ".npm/blob"), "x".repeat(10_000));
    let stored: { headers: IncomingHttpHeaders; body: Buffer } | null = null;
    const r2 = await serve((req, res) => {
      const parts: Buffer[] = [];
      req.on("data", (c: Buffer) => parts.push(c));
      req.on("end", () => {
        stored = { headers: req.headers, body: Buffer.concat(parts) };
        res.writeHead(200).end();
      });
    });
    const calls: { path: string; body: any }[] = [];
    const api = await serve((req, res) => {
      const parts: Buffer[] = [];
      req.on("data", (c: Buffer) => parts.push(c));
      req.on("end", () => {
        const body = parts.length > 0 ? JSON.parse(Buffer.concat(parts).toString()) : null;
        calls.push({ path: req.url ?? "", body });
        res.setHeader("content-type", "application/json");
        if (req.url?.endsWith("/caches/reserve")) {
          const headers = { "x-amz-checksum-sha256": Buffer.from(body.sha256, "hex").toString("base64"), "x-amz-meta-jobid": "job-1" };
          res.end(JSON.stringify({ entryId: "5f0c6f0e-0000-4000-8000-000000000001", uploadUrl: `${r2}/bucket/obj?X-Amz-Signature=s`, headers }));
        } else if (req.url?.endsWith("/caches/commit")) {
          res.writeHead(201).end(JSON.stringify({ id: body.entryId, key: body.key, scope: "branch:main", size: body.size, sha256: body.sha256 }));
        } else res.writeHead(404).end("{}");
      });
    });
    const notes: string[] = [];
    const job = { jobId: "job-1", leaseId: "lease", fencingToken: 1 } as Job;
    const output = { note: (t: string) => notes.push(t), write: () => true, onDrain: () => undefined, end: () => undefined };
    const plan = { key: "linux-x64-node22/deps-npm-abc", paths: [{ root: "home" as const, rel: ".npm" }], exact: false, writeScope: "branch:main" };
    await saveCache({ client: new ControlPlaneClient(api, "job-token"), job, roots, output, signal: AbortSignal.timeout(20_000) }, plan);

    expect(notes.join("\n")).toMatch(/sparki: saved cache linux-x64-node22\/deps-npm-abc \(to branch:main/);
    expect(calls.map((c) => c.path)).toEqual(["/v1/runner/jobs/job-1/caches/reserve", "/v1/runner/jobs/job-1/caches/commit"]);
    const upload = stored as { headers: IncomingHttpHeaders; body: Buffer } | null;
    if (!upload) throw new Error("nothing reached R2");
    const digest = createHash("sha256").update(upload.body).digest("hex");
    expect(calls[0]?.body).toMatchObject({ key: plan.key, size: upload.body.length, sha256: digest });
    expect(upload.headers["x-amz-checksum-sha256"]).toBe(Buffer.from(digest, "hex").toString("base64"));
    expect(upload.headers["x-amz-meta-jobid"]).toBe("job-1");
    expect(upload.headers["content-length"]).toBe(String(upload.body.length));
    expect(upload.headers.authorization).toBeUndefined();
    expect(calls[1]?.body).toMatchObject({ entryId: "5f0c6f0e-0000-4000-8000-000000000001", size: upload.body.length, sha256: digest });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
