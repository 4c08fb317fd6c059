/**
 * The post-receive hook `sparki hooks install` writes, run by the real `sh` against a local
 * HTTP server standing in for Sparki: what it sends, how it signs, and how it retries.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { postReceiveScript } from "./post-receive.ts";

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

let server: Server;
let url: string;
let dir: string;
let received: Received[] = [];
/** Statuses to answer, in order; 202 once they run out. */
let answers: number[] = [];
const secret = "sph_test-key'with\"quotes$and`backticks";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sparki-hook-"));
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      const status = answers.shift() ?? 202;
      res.writeHead(status, { "content-type": "application/json", ...(status === 503 ? { "retry-after": "0" } : {}) });
      res.end(JSON.stringify(status === 202 ? { outcome: "started", buildId: "b-1" } : { detail: "nope" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/projects/p/hooks/push`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  received = [];
  answers = [];
});

/** Writes the hook and runs it with `stdin` as git would; resolves with its exit code and output. */
function runHook(stdin: string, node = process.execPath, cwd?: string): Promise<{ code: number | null; output: string }> {
  const secretFile = join(dir, "sparki-push-hook.secret");
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  const hook = join(dir, "post-receive");
  writeFileSync(hook, postReceiveScript({ url, node }));
  chmodSync(hook, 0o755);
  return new Promise((resolve) => {
    const child = spawn(hook, [], { stdio: ["pipe", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "" }, ...(cwd ? { cwd } : {}) });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("close", (code) => resolve({ code, output }));
    child.stdin.end(stdin);
  });
}

const a = "a".repeat(40);
const b = "b".repeat(40);

describe("the post-receive hook", () => {
  it("sends one call per updated branch or tag, signed over the exact bytes, each with its own delivery id", async () => {
    const ref = 'refs/heads/feature/ünïcode-"quoted"';
    const { code, output } = await runHook(`${a} ${b} refs/heads/main\n${a} ${b} ${ref}\n${a} ${b} refs/tags/v1\n${a} ${b} refs/notes/commits\n`);
    expect(code, output).toBe(0);
    expect(received).toHaveLength(3);
    for (const r of received) {
      const expected = `sha256=${createHmac("sha256", secret).update(r.body).digest("hex")}`;
      expect(r.headers["x-sparki-signature-256"]).toBe(expected);
      expect(r.headers["content-type"]).toBe("application/json");
    }
    expect(received.map((r) => JSON.parse(r.body.toString("utf8")))).toEqual([
      { ref: "refs/heads/main", before: a, after: b },
      { ref, before: a, after: b },
      { ref: "refs/tags/v1", before: a, after: b },
    ]);
    expect(new Set(received.map((r) => r.headers["x-sparki-delivery"])).size).toBe(3);
    expect(output).toContain("sparki: refs/heads/main: build started (b-1)");
  });

  it("sends an annotated tag's commit, not the tag object (git runs hooks in the repository)", async () => {
    const repo = mkdtempSync(join(tmpdir(), "sparki-hook-repo-"));
    try {
      const git = (...args: string[]) =>
        execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: repo, encoding: "utf8" }).trim();
      git("init", "--quiet");
      git("commit", "--quiet", "--allow-empty", "-m", "one");
      const commit = git("rev-parse", "HEAD");
      git("tag", "-a", "-m", "release", "v2.0.0");
      const tagObject = git("rev-parse", "v2.0.0");
      expect(tagObject).not.toBe(commit);
      const { code, output } = await runHook(`${"0".repeat(40)} ${tagObject} refs/tags/v2.0.0\n`, process.execPath, repo);
      expect(code, output).toBe(0);
      expect(received.map((r) => JSON.parse(r.body.toString("utf8")))).toEqual([{ ref: "refs/tags/v2.0.0", before: "0".repeat(40), after: commit }]);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it("retries a 5xx with the same delivery id, and gives up on a 4xx at once", async () => {
    answers = [503, 202];
    const retried = await runHook(`${a} ${b} refs/heads/main\n`);
    expect(retried.code, retried.output).toBe(0);
    expect(received).toHaveLength(2);
    expect(received[0]?.headers["x-sparki-delivery"]).toBe(received[1]?.headers["x-sparki-delivery"]);

    received = [];
    answers = [401];
    const refused = await runHook(`${a} ${b} refs/heads/main\n`);
    expect(refused.code).toBe(1);
    expect(received).toHaveLength(1);
    expect(refused.output).toContain("refused with 401: nope");
  });

  it("falls back to node on PATH when the Node.js that installed it is gone", async () => {
    const { code, output } = await runHook(`${a} ${b} refs/heads/main\n`, join(dir, "no-such-node"));
    expect(code, output).toBe(0);
    expect(received).toHaveLength(1);
  });
});
