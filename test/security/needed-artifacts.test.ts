/**
 * Hostile directory artifacts handed to a job that needs them (runner/needs.ts), made as an
 * attacker would (test/security/tar-craft.ts) and served by a real HTTP server standing for the
 * API with a correct size and SHA-256, so only the unpacking stands in the way: a climbing path,
 * an absolute path, a symlink to a host file, a hard link, and an inflation bomb past the limits.
 * Each is refused with the reason, nothing is written outside the artifact's folder, and the
 * folder itself is removed. That a job token reaches no other build's artifacts is in
 * needed-artifacts.workers.test.ts.
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Job } from "../../core/contracts/runner.ts";
import { ControlPlaneClient } from "../../runner/client.ts";
import { receiveNeeded } from "../../runner/needs.ts";
import { craftTarGz, type CraftedEntry } from "./tar-craft.ts";

let server: Server;
let api: string;
let served: Buffer = Buffer.alloc(0);
let work: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.method === "POST" && req.url === "/v1/runner/jobs/b.3/needs/artifacts") {
      const item = { name: "dist", jobId: "b.2", kind: "directory", size: served.length, sha256: createHash("sha256").update(served).digest("hex") };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ items: [item] }));
    } else if (req.method === "GET" && req.url === "/v1/runner/jobs/b.3/needs/artifacts/dist") {
      res.writeHead(200, { "content-length": String(served.length) }).end(served);
    } else res.writeHead(404).end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(async () => {
  if (work) await rm(work, { recursive: true, force: true });
  work = await mkdtemp(join(tmpdir(), "sparki-hostile-needs-"));
});

const text = (s: string) => new TextEncoder().encode(s);

/** Serves `entries` as the needed artifact `dist` and has a job receive it; returns the result and the notes. */
async function receive(entries: CraftedEntry[], limits?: { maxTotalBytes: number; maxFiles: number; maxFileBytes: number }) {
  served = Buffer.from(await craftTarGz(entries));
  const notes: string[] = [];
  const output = { note: (t: string) => notes.push(t), write: () => true, onDrain: () => undefined, end: () => undefined };
  const job = { jobId: "b.3", leaseId: "lease", fencingToken: 1 } as Job;
  const dir = join(work, "job", "artifacts");
  const result = await receiveNeeded({
    client: new ControlPlaneClient(api, "job-token"),
    job,
    dir,
    signal: AbortSignal.timeout(60_000),
    output,
    scratch: work,
    ...(limits ? { limits } : {}),
  });
  return { result, notes, dir };
}

/** Every path under the work folder but the (empty) artifacts folder the job was given. */
async function written(): Promise<string[]> {
  const all = await readdir(work, { recursive: true });
  return all.filter((p) => p !== "job" && p !== join("job", "artifacts"));
}

describe("hostile needed artifacts", () => {
  it("unpacks a well-formed one (the control)", async () => {
    const { result } = await receive([{ name: "index.html", data: text("<h1>ok</h1>") }]);
    expect(result).toEqual({ ok: true, received: ["dist"] });
    expect(await written()).toEqual([join("job", "artifacts", "dist"), join("job", "artifacts", "dist", "index.html")]);
  });

  it.each([
    ["a climbing path", [{ name: "../../escaped.txt", data: text("x") }], /leads outside the archive/],
    ["an absolute path", [{ name: "/tmp/sparki-absolute.txt", data: text("x") }], /absolute path/],
    ["a symlink to a host file", [{ name: "passwd", data: new Uint8Array(0), type: "2", link: "/etc/passwd" }], /symbolic link/],
    ["a hard link to a host file", [{ name: "shadow", data: new Uint8Array(0), type: "1", link: "/etc/shadow" }], /hard link/],
    [
      "a file then a symlink through which a later entry would write",
      [
        { name: "a/x", data: text("x") },
        { name: "a/l", data: new Uint8Array(0), type: "2", link: "/" },
      ],
      /symbolic link/,
    ],
  ] satisfies [string, CraftedEntry[], RegExp][])("refuses %s, and keeps nothing", async (_what, entries, why) => {
    const { result, notes } = await receive(entries);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(why);
    expect(notes.join("\n")).toMatch(/sparki: artifact dist of job b\.2 refused/);
    expect(await written()).toEqual([]);
  });

  it("refuses an inflation bomb at the limit, having written no more than it", async () => {
    const MiB = 1024 * 1024;
    // 64 MiB of zeros in ~64 KB of gzip, against a 16 MiB cap.
    const { result } = await receive([{ name: "zeros.bin", data: { zeros: 64 * MiB } }], { maxTotalBytes: 16 * MiB, maxFiles: 100, maxFileBytes: 128 * MiB });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/inflates to more than 16777216 bytes/);
    expect(await written()).toEqual([]);
  });
});
