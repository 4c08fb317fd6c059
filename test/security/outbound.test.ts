/**
 * Outbound requests a tenant configures, tried as an attacker would. Health-check URLs aimed at
 * the cloud metadata service, private and loopback addresses, credentials in the URL, file:, and
 * an allowed host that redirects inward are all refused; an adapter `apiUrl` naming an attacker's
 * host gets no request and so no platform token. The "attacker" and "internal service" are real
 * local HTTP servers that record what reaches them; the guards are the orchestrator's own
 * (durable-objects/deployment-orchestrator/outbound.ts over core/net/outbound.ts), run with the
 * real fetch. The same refusals through a real deployment are in outbound.workers.test.ts.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DeployContext, PlatformAdapter } from "../../core/deploy/adapter.ts";
import { fetchChecked, OutboundRefused, outboundProblem } from "../../core/net/outbound.ts";
import { addressProblems, healthFetch, platformFetch, type Outbound } from "../../durable-objects/deployment-orchestrator/outbound.ts";
import type { StageInit } from "../../server/objects/deployment-orchestrator/protocol.ts";
import { flyAdapter } from "../../server/deploy/adapters/fly.ts";
import { railwayAdapter } from "../../server/deploy/adapters/railway.ts";
import { renderAdapter } from "../../server/deploy/adapters/render.ts";
import { vercelAdapter } from "../../server/deploy/adapters/vercel.ts";
import { FakeRailway } from "../fakes/railway.ts";

/** A local server recording every request (method, url, authorization) it receives. */
class Listener {
  readonly seen: { method: string; url: string; authorization: string | undefined }[] = [];
  private constructor(
    readonly server: Server,
    readonly url: string,
  ) {}
  static async start(answer: (req: IncomingMessage) => { status: number; headers?: Record<string, string> } = () => ({ status: 200 })): Promise<Listener> {
    let listener: Listener | undefined;
    const server = createServer((req, res) => {
      listener?.seen.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization });
      const { status, headers } = answer(req);
      res.writeHead(status, headers).end('{"data":{}}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    listener = new Listener(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return listener;
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const production: Outbound = { development: false, apiOverrides: [] };
const development: Outbound = { development: true, apiOverrides: [] };

let attacker: Listener;
let internal: Listener;
beforeAll(async () => {
  attacker = await Listener.start();
  internal = await Listener.start();
});
afterAll(async () => {
  await attacker.close();
  await internal.close();
});
beforeEach(() => {
  attacker.seen.length = 0;
  internal.seen.length = 0;
});

/** A stage as the orchestrator holds it, with only what the checks read. */
const stage = (over: Partial<StageInit>): StageInit => ({ name: "prod", platform: "script", settings: {}, healthCheck: null, ...over }) as StageInit;
const check = (url: string) =>
  ({
    url,
    path: undefined,
    expectedStatus: 200,
    intervalSeconds: 1,
    timeoutSeconds: 2,
    healthyThreshold: 1,
    unhealthyThreshold: 1,
  }) as unknown as StageInit["healthCheck"];

describe("health-check URLs", () => {
  it.each([
    ["http://169.254.169.254/latest/meta-data/iam/security-credentials/", /https|IP address/],
    ["https://169.254.169.254/latest/meta-data/", /metadata range/],
    ["https://10.0.0.1/admin", /private range/],
    ["https://[::1]:6379/", /loopback range/],
    ["https://user:pw@app.example.com/health", /credentials/],
    ["file:///etc/passwd", /https/],
  ])("refuses %s before the deployment starts, in production", (url, reason) => {
    const problems = addressProblems(stage({ healthCheck: check(url) }), railwayAdapter, production);
    expect(problems).toEqual([expect.stringMatching(reason)]);
    // The event names the address's origin at most, never its credentials.
    expect(problems.join()).not.toContain("pw");
  });

  it("refuses the same addresses right before fetching, without asking them", async () => {
    for (const url of ["https://169.254.169.254/", "https://10.0.0.1/", `${internal.url}/`, "https://[fd00:ec2::254]/"]) {
      await expect(healthFetch(stage({ healthCheck: check(url) }), production)(new Request(url))).rejects.toThrow(OutboundRefused);
    }
    expect(internal.seen).toEqual([]);
  });

  it("never follows a redirect to 127.0.0.1 in production", async () => {
    // An allowed public host (answered here by a stand-in) that redirects to an internal service.
    const publicHost = "https://status.example.com/health";
    const fetcher = async (url: string, init: RequestInit) =>
      url === publicHost ? new Response(null, { status: 302, headers: { location: `${internal.url}/admin` } }) : fetch(url, init);
    await expect(fetchChecked(publicHost, {}, (u) => outboundProblem(u, production), fetcher)).rejects.toThrow(
      /redirect went to an address that must use https/,
    );
    expect(internal.seen).toEqual([]);
  });

  it("in development, asks loopback but follows no redirect out to a private or metadata address", async () => {
    const bouncer = await Listener.start((req) => ({
      status: 302,
      headers: { location: req.url === "/meta" ? "http://169.254.169.254/latest/" : req.url === "/lan" ? "https://10.0.0.1/" : `${internal.url}/ok` },
    }));
    try {
      const ask = (path: string) => healthFetch(stage({ healthCheck: check(`${bouncer.url}${path}`) }), development)(new Request(`${bouncer.url}${path}`));
      await expect(ask("/meta")).rejects.toThrow(OutboundRefused);
      await expect(ask("/lan")).rejects.toThrow(OutboundRefused);
      expect((await ask("/local")).status).toBe(200);
      expect(internal.seen.map((r) => r.url)).toEqual(["/ok"]);
    } finally {
      await bouncer.close();
    }
  });
});

describe("adapter API URLs", () => {
  const adapters: [PlatformAdapter, Record<string, unknown>, Record<string, string>][] = [
    [railwayAdapter, { serviceId: "svc-1", environmentId: "env-1" }, { RAILWAY_TOKEN: "railway-secret-token" }],
    [renderAdapter, { serviceId: "srv-1" }, { RENDER_API_KEY: "render-secret-token" }],
    [flyAdapter, { app: "shop", image: "registry.fly.io/shop:latest" }, { FLY_API_TOKEN: "fly-secret-token" }],
    [vercelAdapter, { projectName: "site" }, { VERCEL_TOKEN: "vercel-secret-token" }],
  ];

  function ctx(adapter: PlatformAdapter, settings: Record<string, unknown>, credentials: Record<string, string>, outbound: Outbound): DeployContext {
    return {
      deploymentId: "dep-1",
      projectId: "proj-1",
      stage: "prod",
      commitSha: "a".repeat(40),
      artifact: { url: "sparki-artifact:none", kind: "directory", sha256: null, size: 1 },
      env: {},
      credentials,
      settings: adapter.settings.parse(settings),
      fetch: platformFetch(adapter, outbound, (url, init) => fetch(url, init)) as typeof fetch,
      signal: new AbortController().signal,
    };
  }

  it.each(adapters.map((row) => [row[0].platform, ...row] as const))(
    "%s: an attacker's apiUrl is refused at validation and gets no request, so no token",
    async (_name, adapter, settings, credentials) => {
      const hostile = { ...settings, apiUrl: `${attacker.url}/v1` };
      expect(addressProblems(stage({ platform: adapter.platform as StageInit["platform"], settings: hostile }), adapter, production)).toEqual([
        expect.stringContaining(`is not the platform's documented API (${adapter.apiOrigin})`),
      ]);
      // Even an adapter asked regardless (a bug, a race) cannot reach it: its fetch refuses.
      const c = ctx(adapter, hostile, credentials, production);
      await adapter.validate(c).catch(() => undefined);
      await adapter.deploy(c).catch(() => undefined);
      await adapter.state(c, { id: "d", url: null }).catch(() => undefined);
      await adapter.rollback(c, { id: "d", url: null }).catch(() => undefined);
      expect(attacker.seen).toEqual([]);
    },
  );

  it("reaches a platform fake only through an admin's override", async () => {
    const fake = await FakeRailway.start();
    try {
      const settings = { serviceId: "svc-1", environmentId: "env-1", apiUrl: fake.url };
      const credentials = { RAILWAY_TOKEN: "railway-test-token" };
      const allowed = ctx(railwayAdapter, settings, credentials, { development: true, apiOverrides: ["http://127.0.0.1:*"] });
      expect(await railwayAdapter.validate(allowed)).toEqual([]);
      expect(fake.requests.length).toBeGreaterThan(0);
      fake.requests.length = 0;
      expect((await railwayAdapter.validate(ctx(railwayAdapter, settings, credentials, development))).join()).toMatch(/documented API/);
      expect(fake.requests).toEqual([]);
    } finally {
      await fake.close();
    }
  });
});
