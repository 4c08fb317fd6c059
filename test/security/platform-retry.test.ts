/**
 * A hostile (or broken) platform API, tried against every adapter's read call through the one
 * platform client (server/deploy/platform-http.ts). It may ask for an absurd Retry-After, keep a
 * call waiting just under the cap on every attempt, or answer without end; none of it may stall
 * a deployment beyond the client's wait budget or fill the orchestrator's memory. The platform
 * is a real local HTTP server; waits are recorded by an injected sleep, except where the test is
 * that no wait happens at all with the real timer.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type DeployContext, type PlatformAdapter, PlatformError } from "../../core/deploy/adapter.ts";
import { encodeFlyDeployment, flyAdapter } from "../../server/deploy/adapters/fly.ts";
import { railwayAdapter } from "../../server/deploy/adapters/railway.ts";
import { renderAdapter } from "../../server/deploy/adapters/render.ts";
import { vercelAdapter } from "../../server/deploy/adapters/vercel.ts";
import { MAX_ANSWER_BYTES } from "../../server/deploy/platform-http.ts";
import { MAX_ATTEMPTS, RETRY_BUDGET_MS } from "../../server/deploy/retry.ts";

type Answer = (req: IncomingMessage, res: ServerResponse) => void;
let answer: Answer = (_req, res) => res.writeHead(500).end();
let server: Server;
let base = "";
let hits = 0;
const slept: number[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits += 1;
    req.resume();
    req.on("end", () => answer(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  hits = 0;
  slept.length = 0;
});

const adapters: [PlatformAdapter, () => Record<string, unknown>, Record<string, string>, string][] = [
  [railwayAdapter, () => ({ serviceId: "svc-1", environmentId: "env-1", apiUrl: `${base}/graphql/v2` }), { RAILWAY_TOKEN: "t" }, "dep-1"],
  [renderAdapter, () => ({ serviceId: "srv-1", apiUrl: `${base}/v1` }), { RENDER_API_KEY: "t" }, "dep-1"],
  [
    flyAdapter,
    () => ({ app: "shop", image: "shop:1", apiUrl: `${base}/v1` }),
    { FLY_API_TOKEN: "t" },
    encodeFlyDeployment({ image: "shop:1", machines: { m1: "i1" } }),
  ],
  [vercelAdapter, () => ({ projectName: "site", apiUrl: base }), { VERCEL_TOKEN: "t" }, "dpl_1"],
];
const each = adapters.map((row) => [row[0].platform, ...row] as const);

function ctx(adapter: PlatformAdapter, settings: Record<string, unknown>, credentials: Record<string, string>, recordSleep: boolean): DeployContext {
  return {
    deploymentId: "dep-1",
    projectId: "proj-1",
    stage: "prod",
    commitSha: "a".repeat(40),
    artifact: { url: "sparki-artifact:none", kind: "directory", sha256: null, size: 1 },
    env: {},
    credentials,
    settings: adapter.settings.parse(settings),
    fetch,
    signal: new AbortController().signal,
    ...(recordSleep
      ? {
          sleep: async (ms: number) => {
            slept.push(ms);
          },
        }
      : {}),
  };
}

async function failure(p: Promise<unknown>): Promise<PlatformError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PlatformError);
  return err as PlatformError;
}

describe("a hostile platform cannot stall a deployment", () => {
  it.each(each)("%s: an absurd Retry-After gets no wait at all, and the error reports the cap", async (_name, adapter, settings, credentials, id) => {
    for (const retryAfter of ["999999999", "Fri, 31 Dec 9999 23:59:59 GMT"]) {
      hits = 0;
      answer = (_req, res) => res.writeHead(429, { "content-type": "application/json", "retry-after": retryAfter }).end("{}");
      // The real timer: were the client to honour this, the test would never end.
      const err = await failure(adapter.state(ctx(adapter, settings(), credentials, false), { id, url: null }));
      expect(err).toMatchObject({ status: 429, retryable: true, retryAfterMs: RETRY_BUDGET_MS });
      expect(hits).toBe(1);
    }
  });

  it.each(each)(
    "%s: a Retry-After just under the cap on every answer is waited at most the budget in all",
    async (_name, adapter, settings, credentials, id) => {
      answer = (_req, res) => res.writeHead(503, { "retry-after": String(RETRY_BUDGET_MS / 1000 - 1) }).end();
      const err = await failure(adapter.state(ctx(adapter, settings(), credentials, true), { id, url: null }));
      expect(err).toMatchObject({ status: 503, retryable: true });
      expect(slept.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(RETRY_BUDGET_MS);
      expect(hits).toBeLessThanOrEqual(MAX_ATTEMPTS);
    },
  );

  it.each(each)("%s: a Retry-After that is not a delay or a date is ignored, and backoff stays bounded", async (_name, adapter, settings, credentials, id) => {
    answer = (_req, res) => res.writeHead(503, { "retry-after": "1e12" }).end();
    const err = await failure(adapter.state(ctx(adapter, settings(), credentials, true), { id, url: null }));
    expect(err.retryAfterMs).toBeUndefined();
    expect(hits).toBe(MAX_ATTEMPTS);
    expect(slept.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(RETRY_BUDGET_MS);
  });

  it.each(each)("%s: an endless answer is cut off at the size cap, not buffered, and not asked again", async (_name, adapter, settings, credentials, id) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    answer = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const pump = (): void => {
        // Stops by itself well past the cap, so a client that buffered it all would still finish.
        while (sent < MAX_ANSWER_BYTES * 4 && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    };
    const err = await failure(adapter.state(ctx(adapter, settings(), credentials, true), { id, url: null }));
    expect(err.status).toBe(502);
    expect(err.message).toMatch(/larger than/);
    expect(hits).toBe(1);
    expect(slept).toEqual([]);
  });
});
