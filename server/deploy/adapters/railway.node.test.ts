/**
 * The Railway adapter against a local fake of Railway's GraphQL API (test/fakes/railway.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PlatformError, type DeployContext, type PlatformDeployment, type PlatformState } from "../../../core/deploy/adapter.ts";
import { FakeRailway } from "../../../test/fakes/railway.ts";
import { MAX_ATTEMPTS } from "../retry.ts";
import { railwayAdapter } from "./railway.ts";

let fake: FakeRailway;
/** The waits the platform client asked for: recorded, never slept. */
const slept: number[] = [];
const sleep = async (ms: number): Promise<void> => {
  slept.push(ms);
};

beforeAll(async () => {
  fake = await FakeRailway.start();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.stopFailing();
  slept.length = 0;
});

function ctx(overrides: Partial<DeployContext> = {}, settings: Record<string, unknown> = {}): DeployContext {
  return {
    deploymentId: "dep-1",
    projectId: "proj-1",
    stage: "staging",
    commitSha: "a".repeat(40),
    artifact: { url: "http://127.0.0.1/artifact.tar.gz", kind: "directory", sha256: null, size: 1 },
    env: {},
    credentials: { RAILWAY_TOKEN: "railway-test-token" },
    settings: { serviceId: "svc-1", environmentId: "env-1", apiUrl: fake.url, ...settings },
    fetch,
    signal: new AbortController().signal,
    sleep,
    ...overrides,
  };
}

/** Polls until the platform settles, returning every state seen. */
async function settle(c: DeployContext, d: PlatformDeployment): Promise<PlatformState[]> {
  const seen: PlatformState[] = [];
  for (let i = 0; i < 10; i++) {
    const s = await railwayAdapter.state(c, d);
    seen.push(s);
    if (s !== "pending") return seen;
  }
  return seen;
}

async function rejection(p: Promise<unknown>): Promise<PlatformError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PlatformError);
  return err as PlatformError;
}

describe("railway adapter", () => {
  it("settings are strict", () => {
    expect(railwayAdapter.settings.safeParse({ serviceId: "s", environmentId: "e" }).success).toBe(true);
    expect(railwayAdapter.settings.safeParse({ serviceId: "s", environmentId: "e", extra: 1 }).success).toBe(false);
    expect(railwayAdapter.settings.safeParse({ serviceId: "s" }).success).toBe(false);
    expect(railwayAdapter.credentials).toEqual(["RAILWAY_TOKEN"]);
  });

  it("deploys the commit: pending first, then ready; the request carries the bearer token and documented body", async () => {
    const c = ctx();
    const d = await railwayAdapter.deploy(c);
    const [call] = fake.calls("serviceInstanceDeployV2");
    expect(call?.headers.authorization).toBe("Bearer railway-test-token");
    expect(call?.headers["content-type"]).toMatch(/^application\/json/);
    expect(call?.body).toMatchObject({
      operationName: "serviceInstanceDeployV2",
      query: expect.stringContaining("serviceInstanceDeployV2(serviceId: $serviceId, environmentId: $environmentId, commitSha: $commitSha)"),
      variables: { serviceId: "svc-1", environmentId: "env-1", commitSha: c.commitSha },
    });
    expect(fake.deployments.get(d.id)?.commitSha).toBe(c.commitSha);

    const seen = await settle(c, d);
    expect(seen[0]).toBe("pending");
    expect(seen.at(-1)).toBe("ready");
    expect(fake.live("svc-1", "env-1")?.id).toBe(d.id);
    expect(fake.calls("deployment")[0]?.body).toMatchObject({ variables: { id: d.id } });
  });

  it("a deployment that fails to build ends failed", async () => {
    fake.failNextDeploy();
    const c = ctx();
    const d = await railwayAdapter.deploy(c);
    const seen = await settle(c, d);
    expect(seen).toContain("pending");
    expect(seen.at(-1)).toBe("failed");
    expect(fake.deployments.get(d.id)?.status).toBe("FAILED");
  });

  it("rollback makes the earlier deployment's build live again", async () => {
    const good = await railwayAdapter.deploy(ctx({ commitSha: "1".repeat(40) }));
    await settle(ctx(), good);
    const next = await railwayAdapter.deploy(ctx({ commitSha: "2".repeat(40) }));
    await settle(ctx(), next);
    expect(fake.live("svc-1", "env-1")?.commitSha).toBe("2".repeat(40));

    const back = await railwayAdapter.rollback(ctx(), good);
    expect(fake.calls("deploymentRollback")[0]?.body).toMatchObject({ variables: { id: good.id } });
    expect(await settle(ctx(), back)).toContain("ready");
    const live = fake.live("svc-1", "env-1");
    expect(live?.id).toBe(back.id);
    expect(live?.rollbackOf).toBe(good.id);
    expect(live?.commitSha).toBe("1".repeat(40));
    expect(fake.deployments.get(next.id)?.status).toBe("REMOVED");
  });

  it("validate passes for a reachable service", async () => {
    expect(await railwayAdapter.validate(ctx())).toEqual([]);
    expect(fake.calls("serviceInstance")[0]?.headers.authorization).toBe("Bearer railway-test-token");
  });

  it("validate reports a missing credential and bad settings without calling Railway", async () => {
    const problems = await railwayAdapter.validate(ctx({ credentials: {}, settings: { serviceId: "svc-1" } }));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/RAILWAY_TOKEN/);
    expect(problems[1]).toMatch(/environmentId/);
    expect(fake.requests).toHaveLength(0);
  });

  it("validate reports an unknown service and never deploys", async () => {
    const problems = await railwayAdapter.validate(ctx({}, { serviceId: "svc-nope" }));
    expect(problems).toEqual([expect.stringMatching(/svc-nope not found/)]);
    expect(fake.calls("serviceInstanceDeployV2")).toHaveLength(0);
  });

  it("validate reports a refused token and an unreachable API", async () => {
    expect(await railwayAdapter.validate(ctx({ credentials: { RAILWAY_TOKEN: "wrong" } }))).toEqual([
      expect.stringMatching(/RAILWAY_TOKEN was refused.*Not Authorized/),
    ]);
    const down = await railwayAdapter.validate(ctx({}, { apiUrl: "http://127.0.0.1:9/graphql/v2" }));
    expect(down).toEqual([expect.stringMatching(/unreachable/)]);
    expect(fake.calls("serviceInstanceDeployV2")).toHaveLength(0);
  });

  it("a wrong token is a 401 PlatformError, not retryable", async () => {
    const before = fake.deployments.size;
    const err = await rejection(railwayAdapter.deploy(ctx({ credentials: { RAILWAY_TOKEN: "wrong" } })));
    expect(err.status).toBe(401);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/Not Authorized/);
    expect(fake.requests[0]?.headers.authorization).toBe("Bearer wrong");
    expect(fake.deployments.size).toBe(before);
  });

  it("429 and 500 that last are retryable and carry Railway's message and Retry-After", async () => {
    fake.failNext(429, { times: MAX_ATTEMPTS, retryAfter: 12 });
    const limited = await rejection(railwayAdapter.deploy(ctx()));
    expect(limited.status).toBe(429);
    expect(limited.retryable).toBe(true);
    expect(limited.retryAfterMs).toBe(12_000);
    expect(limited.message).toMatch(/Rate limit exceeded.*retry after 12s/);

    fake.failNext(500, { times: MAX_ATTEMPTS });
    const down = await rejection(railwayAdapter.state(ctx(), { id: "x", url: null }));
    expect(down.status).toBe(500);
    expect(down.retryable).toBe(true);
  });

  it("a 429 with Retry-After is waited out and the deploy sent again (refused before acting), creating one deployment", async () => {
    const before = fake.deployments.size;
    fake.failNext(429, { retryAfter: 2 });
    const d = await railwayAdapter.deploy(ctx());
    expect(fake.deployments.get(d.id)).toBeDefined();
    expect(fake.deployments.size).toBe(before + 1);
    expect(fake.calls("serviceInstanceDeployV2")).toHaveLength(2);
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThanOrEqual(2000);
  });

  it("a 503 on the deploy mutation is not sent again, so no second deployment; polling retries it", async () => {
    const before = fake.deployments.size;
    fake.failNext(503, { times: MAX_ATTEMPTS });
    const err = await rejection(railwayAdapter.deploy(ctx()));
    expect(err.status).toBe(503);
    expect(err.retryable).toBe(true);
    expect(fake.calls("serviceInstanceDeployV2")).toHaveLength(1);
    expect(fake.deployments.size).toBe(before);
    expect(slept).toEqual([]);

    fake.stopFailing();
    const d = await railwayAdapter.deploy(ctx());
    fake.failNext(503, { times: 2 });
    expect(await railwayAdapter.state(ctx(), d)).toBe("pending");
    expect(slept).toHaveLength(2);
  });

  it("a 400 is not retried: rollback to a deployment that never ran", async () => {
    fake.failNextDeploy();
    const bad = await railwayAdapter.deploy(ctx());
    await settle(ctx(), bad);
    fake.requests.length = 0;
    const err = await rejection(railwayAdapter.rollback(ctx(), bad));
    expect(err.status).toBe(400);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/cannot be rolled back/);
    expect(fake.calls("deploymentRollback")).toHaveLength(1);
    expect(slept).toEqual([]);
  });

  it("an unreachable API is a retryable PlatformError; a read is tried every time, the deploy once", async () => {
    const down = { apiUrl: "http://127.0.0.1:9/graphql/v2" };
    const read = await rejection(railwayAdapter.state(ctx({}, down), { id: "x", url: null }));
    expect(read.status).toBe(0);
    expect(read.retryable).toBe(true);
    expect(slept).toHaveLength(MAX_ATTEMPTS - 1);
    slept.length = 0;
    const create = await rejection(railwayAdapter.deploy(ctx({}, down)));
    expect(create.status).toBe(0);
    expect(create.retryable).toBe(true);
    expect(slept).toEqual([]);
  });

  it("an unknown deployment is a 404, not retryable", async () => {
    const err = await rejection(railwayAdapter.state(ctx(), { id: "missing", url: null }));
    expect(err.status).toBe(404);
    expect(err.retryable).toBe(false);
  });
});
