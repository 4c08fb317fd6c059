/**
 * `sparki deploy --follow` and `deployments show -f` against a small local server speaking the
 * deployment contract (core/contracts/deployments.ts), which drops the events socket once: every
 * event is printed once, in order, and the exit code follows the final status.
 */
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import type { Deployment, DeploymentEventView } from "../core/contracts/deployments.ts";
import { sparkiBin } from "../dev/bins.ts";

const BIN = sparkiBin;
const DEP = "9a1f4b7e-0f6a-4a8e-8d2e-7c9a1b2c3d4e";
const BUILD = "0b6e3c1e-4a44-4c8e-9a59-2f4f3b0f7a10";
const at = "2026-11-27T03:00:00.000Z";

const event = (seq: number, type: string, message: string): DeploymentEventView => ({ seq, at, type, stage: "production", message });

function deploymentWith(events: DeploymentEventView[], status: Deployment["status"]): Deployment {
  return {
    id: DEP,
    projectId: "5d1f4b7e-0f6a-4a8e-8d2e-7c9a1b2c3d4e",
    buildId: BUILD,
    commitSha: null,
    branch: "main",
    status,
    reason: status === "failed" ? "health checks failed" : null,
    trigger: "manual",
    pullRequest: null,
    createdAt: at,
    completedAt: null,
    stages: [
      {
        id: DEP,
        name: "production",
        platform: "sparki-static",
        strategy: "all-at-once",
        status: "deploying",
        approval: false,
        approverRoles: ["owner", "admin"],
        approvedBy: null,
        approvedAt: null,
        trafficPercent: 0,
        passes: 0,
        failures: 0,
        url: null,
        startedAt: at,
        completedAt: null,
      },
    ],
    events,
  };
}

let server: Server | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** POST /deploy answers the deployment; the socket sends 2 (then drops), later 2 again, 3, 4 and the end. */
async function fake(final: "succeeded" | "failed"): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const all = [event(1, "validated", "ok"), event(2, "deployed", "version live"), event(3, "health", "check 1 passed"), event(4, final, `deployment ${final}`)];
  let connections = 0;
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const send = (status: number, body: unknown) => (res.writeHead(status, { "content-type": "application/json" }), res.end(JSON.stringify(body)));
    if (req.method === "POST" && req.url === `/v1/builds/${BUILD}/deploy`) return send(201, deploymentWith([all[0] as DeploymentEventView], "deploying"));
    if (req.method === "GET" && req.url === `/v1/deployments/${DEP}`) return send(200, deploymentWith(all.slice(0, connections === 0 ? 1 : 2), "deploying"));
    send(404, { type: "about:blank", title: "Not Found", status: 404, detail: "No such deployment.", instance: "r" });
  });
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws) => {
    connections++;
    const msg = (i: number, status: Deployment["status"]) =>
      ws.send(JSON.stringify({ event: all[i], deployment: deploymentWith(all.slice(0, i + 1), status) }));
    if (connections === 1) {
      msg(1, "deploying");
      setTimeout(() => ws.terminate(), 20);
      return;
    }
    msg(1, "deploying");
    msg(2, "verifying");
    msg(3, final);
  });
  await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, requests };
}

function sparki(args: string[], url: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const home = mkdtempSync(join(tmpdir(), "sparki-cfg-"));
  dirs.push(home);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, XDG_CONFIG_HOME: home, SPARKI_URL: url, SPARKI_TOKEN: "spk_t" }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe("following a deployment", () => {
  it("deploy --follow prints each event once across a dropped socket and exits 0 on success", async () => {
    const { url, requests } = await fake("succeeded");
    const run = await sparki(["deploy", BUILD, "--follow"], url);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe(`Deployment ${DEP} started\n`);
    const types = run.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(/\s+/)[2]);
    expect(types).toEqual(["validated", "deployed", "health", "succeeded"]);
    expect(requests[0]).toBe(`POST /v1/builds/${BUILD}/deploy`);
  });

  it("deployments show -f --json prints events as JSON lines and exits 1 when it failed", async () => {
    const { url } = await fake("failed");
    const run = await sparki(["deployments", "show", DEP, "-f", "--json"], url);
    expect(run.code).toBe(1);
    expect(
      run.stdout
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as DeploymentEventView).seq),
    ).toEqual([1, 2, 3, 4]);
    expect(run.stderr).toBe("sparki: deployment failed: health checks failed\n");
  });

  it("an unknown deployment is exit 4", async () => {
    const { url } = await fake("succeeded");
    const run = await sparki(["deployments", "approve", "7a1f4b7e-0f6a-4a8e-8d2e-7c9a1b2c3d4e"], url);
    expect(run).toMatchObject({ code: 4, stderr: "sparki: No such deployment.\n" });
  });
});
