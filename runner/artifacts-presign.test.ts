/**
 * Artifacts moved by presigned R2 URLs (R2's S3 credentials set), against small real HTTP servers
 * standing for the API and R2: an upload goes straight to R2 with the signed headers and no job
 * token, then is committed; a needed artifact the API redirects is followed without the token.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import type { Job } from "../core/contracts/runner.ts";
import { uploadArtifacts } from "./artifacts.ts";
import { ControlPlaneClient } from "./client.ts";
import { receiveNeeded } from "./needs.ts";

const servers: Server[] = [];
let work = "";
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  if (work) await rm(work, { recursive: true, force: true });
});

async function serve(handler: (req: import("node:http").IncomingMessage, body: Buffer, res: import("node:http").ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => handler(req, Buffer.concat(parts), res));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const job = { jobId: "b.2", leaseId: "lease", fencingToken: 1, artifacts: [{ name: "app.bin", path: "app.bin" }] } as Job;
const sink = (notes: string[]) => ({ note: (t: string) => notes.push(t), write: () => true, onDrain: () => undefined, end: () => undefined });

it("uploads straight to R2 on the reserved URL with the signed headers, then commits", async () => {
  work = await mkdtemp(join(tmpdir(), "sparki-artifact-presign-"));
  const bytes = Buffer.from("x".repeat(100_000));
  await writeFile(join(work, "app.bin"), bytes);
  const digest = createHash("sha256").update(bytes).digest("hex");
  let stored: { headers: IncomingHttpHeaders; body: Buffer } | null = null;
  const r2 = await serve((req, body, res) => {
    stored = { headers: req.headers, body };
    res.writeHead(200).end();
  });
  const calls: { path: string; body: any }[] = [];
  const api = await serve((req, raw, res) => {
    const body = raw.length > 0 ? JSON.parse(raw.toString()) : null;
    calls.push({ path: req.url ?? "", body });
    res.setHeader("content-type", "application/json");
    if (req.url?.endsWith("/artifacts/reserve")) {
      const headers = { "x-amz-checksum-sha256": Buffer.from(body.sha256, "hex").toString("base64"), "x-amz-meta-jobid": "b.2" };
      res.end(JSON.stringify({ uploadUrl: `${r2}/bucket/key?X-Amz-Signature=s`, headers }));
    } else if (req.url?.endsWith("/artifacts/commit")) res.writeHead(201).end(JSON.stringify({ name: body.name, size: body.size, sha256: body.sha256 }));
    else res.writeHead(404).end("{}");
  });
  const notes: string[] = [];
  const result = await uploadArtifacts({
    client: new ControlPlaneClient(api, "job-token"),
    job,
    dir: work,
    signal: AbortSignal.timeout(20_000),
    output: sink(notes),
    requireAll: true,
  });

  expect(result).toEqual({ uploaded: ["app.bin"], problems: [] });
  expect(notes.join("\n")).toContain("straight to R2");
  expect(calls.map((c) => c.path)).toEqual(["/v1/runner/jobs/b.2/artifacts/reserve", "/v1/runner/jobs/b.2/artifacts/commit"]);
  expect(calls[0]?.body).toEqual({ leaseId: "lease", fencingToken: 1, name: "app.bin", kind: "file", size: bytes.length, sha256: digest });
  const upload = stored as { headers: IncomingHttpHeaders; body: Buffer } | null;
  if (!upload) throw new Error("nothing reached R2");
  expect(upload.body.equals(bytes)).toBe(true);
  expect(upload.headers["x-amz-checksum-sha256"]).toBe(Buffer.from(digest, "hex").toString("base64"));
  expect(upload.headers["x-amz-meta-jobid"]).toBe("b.2");
  expect(upload.headers["content-length"]).toBe(String(bytes.length));
  expect(upload.headers.authorization).toBeUndefined();
});

it("follows the redirect of a needed artifact to R2 without sending the job token there", async () => {
  work = await mkdtemp(join(tmpdir(), "sparki-needs-presign-"));
  const bytes = Buffer.from("built output\n");
  let storeHeaders: IncomingHttpHeaders = {};
  // "localhost" and 127.0.0.1 are different origins to fetch.
  const store = (
    await serve((req, _body, res) => {
      storeHeaders = req.headers;
      res.writeHead(200, { "content-length": String(bytes.length) }).end(bytes);
    })
  ).replace("127.0.0.1", "localhost");
  const api = await serve((req, _body, res) => {
    expect(req.headers.authorization).toBe("Bearer job-token");
    if (req.method === "POST") {
      const item = { name: "app.bin", jobId: "b.1", kind: "file", size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ items: [item] }));
    } else res.writeHead(302, { location: `${store}/bucket/key?X-Amz-Signature=abc` }).end();
  });
  const notes: string[] = [];
  const dir = join(work, "artifacts");
  const result = await receiveNeeded({
    client: new ControlPlaneClient(api, "job-token"),
    job,
    dir,
    signal: AbortSignal.timeout(20_000),
    output: sink(notes),
    scratch: work,
  });
  expect(result).toEqual({ ok: true, received: ["app.bin"] });
  expect(await readFile(join(dir, "app.bin"))).toEqual(bytes);
  expect(storeHeaders.authorization).toBeUndefined();
});
