/**
 * The live log's resume logic against a small local server speaking the viewer protocol
 * (core/contracts/logs.ts): it drops the connection mid-stream and replays more than was asked
 * for, and the client must print every line once, in order.
 */
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import type { ViewerFrame } from "../core/contracts/logs.ts";
import { followLog } from "./log-stream.ts";
import { sparkiBin } from "../dev/bins.ts";

const BIN = sparkiBin;
const BUILD = "0b6e3c1e-4a44-4c8e-9a59-2f4f3b0f7a10";
const PROJECT = "5d1f4b7e-0f6a-4a8e-8d2e-7c9a1b2c3d4e";

interface Fake {
  url: string;
  /** The `from` of every connection, in order. */
  froms: number[];
  auth: string[];
  close(): Promise<void>;
}

const line = (seq: number) => ({
  seq,
  jobId: `${BUILD}.1`,
  step: seq < 5 ? "install" : "build",
  ts: 1_700_000_000_000 + seq,
  text: `\x1b[32mline ${seq}\x1b[0m`,
});

/**
 * Serves GET /v1/builds/:id and the log socket. The first connection sends lines 1-10 and is cut;
 * later ones replay from three lines before `from` (already seen lines must be dropped), then end.
 */
async function fakeServer(total: number, final: "succeeded" | "failed"): Promise<Fake> {
  const froms: number[] = [];
  const auth: string[] = [];
  const server: Server = createServer((req, res) => {
    if (req.url === `/v1/builds/${BUILD}`) {
      res.writeHead(200, { "content-type": "application/json" });
      const at = new Date().toISOString();
      res.end(
        JSON.stringify({
          id: BUILD,
          projectId: PROJECT,
          number: 1,
          branch: "main",
          tag: null,
          commitSha: null,
          status: "running",
          pipelineId: null,
          error: null,
          createdAt: at,
          queuedAt: at,
          startedAt: at,
          completedAt: null,
          jobs: [],
        }),
      );
      return;
    }
    res.writeHead(404, { "content-type": "application/problem+json" });
    res.end(JSON.stringify({ type: "about:blank", title: "Not Found", status: 404, detail: "No such build.", instance: "req-1" }));
  });
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws, req) => {
    const from = Number(new URL(req.url ?? "/", "http://x").searchParams.get("from"));
    froms.push(from);
    auth.push(req.headers.authorization ?? "");
    const send = (f: ViewerFrame) => ws.send(JSON.stringify(f));
    send({ type: "status", status: "running" });
    if (froms.length === 1) {
      for (let s = from; s <= 10; s += 2) send({ type: "lines", lines: [line(s), line(s + 1)] });
      setTimeout(() => ws.terminate(), 20);
      return;
    }
    const lines = [];
    for (let s = Math.max(1, from - 3); s <= total; s++) lines.push(line(s));
    send({ type: "lines", lines: lines.slice(0, 5) });
    send({ type: "lines", lines: lines.slice(5) });
    send({ type: "status", status: final });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    froms,
    auth,
    close: () => new Promise((r) => (wss.close(), server.close(() => r()))),
  };
}

let fake: Fake | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await fake?.close();
  fake = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function sparki(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const home = mkdtempSync(join(tmpdir(), "sparki-cfg-"));
  dirs.push(home);
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, XDG_CONFIG_HOME: home, ...env }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe("followLog", () => {
  it("resumes from the last seq + 1 after a dropped connection and never delivers a line twice", async () => {
    fake = await fakeServer(30, "succeeded");
    const seen: number[] = [];
    const reconnects: number[] = [];
    const status = await followLog({
      socketUrl: `${fake.url.replace("http", "ws")}/v1/builds/${BUILD}/logs`,
      token: "spk_test",
      onLines: (lines) => seen.push(...lines.map((l) => l.seq)),
      onReconnect: (attempt) => reconnects.push(attempt),
      backoff: { baseMs: 10, capMs: 50 },
    });
    expect(status).toBe("succeeded");
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(fake.froms).toEqual([1, 11]);
    expect(reconnects).toEqual([1]);
    expect(fake.auth.every((a) => a === "Bearer spk_test")).toBe(true);
  });

  it("gives up after the configured number of failed connections", async () => {
    const server = createServer((_req, res) => (res.writeHead(503), res.end()));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      await expect(
        followLog({ socketUrl: `ws://127.0.0.1:${port}/logs`, token: "t", onLines: () => undefined, maxAttempts: 2, backoff: { baseMs: 5, capMs: 10 } }),
      ).rejects.toThrow(/lost the log stream \(the server answered 503\)/);
    } finally {
      server.close();
    }
  });
});

describe("sparki logs -f against a server that drops the connection", () => {
  it("prints each line once, in order, colours kept, and exits 0 on success", async () => {
    fake = await fakeServer(25, "succeeded");
    const run = await sparki(["logs", BUILD, "-f"], { SPARKI_URL: fake.url, SPARKI_TOKEN: "spk_cli" });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(Array.from({ length: 25 }, (_, i) => `\x1b[32mline ${i + 1}\x1b[0m\n`).join(""));
    expect(fake.froms).toEqual([1, 11]);
  });

  it("exits 1 with one line when the build failed", async () => {
    fake = await fakeServer(12, "failed");
    const run = await sparki(["logs", BUILD, "--follow", "--from", "3"], { SPARKI_URL: fake.url, SPARKI_TOKEN: "spk_cli" });
    expect(run.code).toBe(1);
    expect(run.stdout.split("\n").filter(Boolean)).toHaveLength(10);
    expect(run.stdout.startsWith("\x1b[32mline 3\x1b[0m\n")).toBe(true);
    expect(run.stderr).toBe("sparki: build failed\n");
    expect(fake.froms[0]).toBe(3);
  });

  it("exits 4 for an unknown build", async () => {
    fake = await fakeServer(1, "succeeded");
    const run = await sparki(["logs", "7a1f4b7e-0f6a-4a8e-8d2e-7c9a1b2c3d4e", "-f"], { SPARKI_URL: fake.url, SPARKI_TOKEN: "spk_cli" });
    expect(run).toMatchObject({ code: 4, stdout: "", stderr: "sparki: No such build.\n" });
  });
});
