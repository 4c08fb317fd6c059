/**
 * The Render adapter against a local fake of Render's REST API (test/fakes/render.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PlatformError, type DeployContext, type PlatformDeployment, type PlatformState } from "../../../core/deploy/adapter.ts";
import { FakeRender } from "../../../test/fakes/render.ts";
import { MAX_ATTEMPTS, RETRY_BUDGET_MS } from "../retry.ts";
import { renderAdapter } from "./render.ts";

let fake: FakeRender;
/** The waits the platform client asked for: recorded, never slept. */
const slept: number[] = [];
const sleep = async (ms: number): Promise<void> => {
  slept.push(ms);
};

beforeAll(async () => {
  fake = await FakeRender.start();
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
    stage: "production",
    commitSha: "b".repeat(40),
    artifact: { url: "http://127.0.0.1/artifact.tar.gz", kind: "directory", sha256: null, size: 1 },
    env: {},
    credentials: { RENDER_API_KEY: "rnd_test_key" },
    settings: { serviceId: "srv-test", apiUrl: fake.url, ...settings },
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
    const s = await renderAdapter.state(c, d);
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

const deployCalls = (): number => fake.calls("POST", /\/deploys$/).length;

describe("render adapter", () => {
  it("settings are strict", () => {
    expect(renderAdapter.settings.safeParse({ serviceId: "srv-1" }).success).toBe(true);
    expect(renderAdapter.settings.safeParse({ serviceId: "srv-1", region: "oregon" }).success).toBe(false);
    expect(renderAdapter.settings.safeParse({}).success).toBe(false);
    expect(renderAdapter.credentials).toEqual(["RENDER_API_KEY"]);
  });

  it("deploys the commit: pending first, then ready; the request carries the bearer key and documented body", async () => {
    const c = ctx();
    const d = await renderAdapter.deploy(c);
    const [call] = fake.calls("POST", /\/deploys$/);
    expect(call?.path).toBe("/v1/services/srv-test/deploys");
    expect(call?.headers.authorization).toBe("Bearer rnd_test_key");
    expect(call?.headers["content-type"]).toMatch(/^application\/json/);
    expect(call?.body).toEqual({ clearCache: "do_not_clear", commitId: c.commitSha });
    expect(fake.deploys.get(d.id)?.commitId).toBe(c.commitSha);

    const seen = await settle(c, d);
    expect(seen[0]).toBe("pending");
    expect(seen.at(-1)).toBe("ready");
    expect(fake.live("srv-test")?.id).toBe(d.id);
    expect(fake.calls("GET", /\/deploys\//)[0]?.path).toBe(`/v1/services/srv-test/deploys/${d.id}`);
  });

  it("a deploy whose build fails ends failed", async () => {
    fake.failNextDeploy();
    const c = ctx();
    const d = await renderAdapter.deploy(c);
    const seen = await settle(c, d);
    expect(seen).toContain("pending");
    expect(seen.at(-1)).toBe("failed");
    expect(fake.deploys.get(d.id)?.status).toBe("build_failed");
  });

  it("rollback makes the earlier deploy's build live again", async () => {
    const good = await renderAdapter.deploy(ctx({ commitSha: "1".repeat(40) }));
    await settle(ctx(), good);
    const next = await renderAdapter.deploy(ctx({ commitSha: "2".repeat(40) }));
    await settle(ctx(), next);
    expect(fake.live("srv-test")?.commitId).toBe("2".repeat(40));

    const back = await renderAdapter.rollback(ctx(), good);
    const [call] = fake.calls("POST", /\/rollback$/);
    expect(call?.path).toBe("/v1/services/srv-test/rollback");
    expect(call?.body).toEqual({ deployId: good.id });
    expect(call?.headers.authorization).toBe("Bearer rnd_test_key");
    expect(await settle(ctx(), back)).toContain("ready");
    const live = fake.live("srv-test");
    expect(live?.id).toBe(back.id);
    expect(live?.rollbackOf).toBe(good.id);
    expect(live?.commitId).toBe("1".repeat(40));
    expect(fake.deploys.get(next.id)?.status).toBe("deactivated");
  });

  it("validate passes for a reachable service", async () => {
    expect(await renderAdapter.validate(ctx())).toEqual([]);
    expect(fake.calls("GET", /^\/v1\/services\/srv-test$/)[0]?.headers.authorization).toBe("Bearer rnd_test_key");
  });

  it("validate reports a missing credential and bad settings without calling Render", async () => {
    const problems = await renderAdapter.validate(ctx({ credentials: {}, settings: { apiUrl: fake.url } }));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/RENDER_API_KEY/);
    expect(problems[1]).toMatch(/serviceId/);
    expect(fake.requests).toHaveLength(0);
  });

  it("validate reports an unknown service, a suspended one, a refused key and an unreachable API, and never deploys", async () => {
    expect(await renderAdapter.validate(ctx({}, { serviceId: "srv-nope" }))).toEqual([expect.stringMatching(/srv-nope not found.*Service not found/)]);
    fake.services.set("srv-sleepy", { id: "srv-sleepy", name: "sleepy", image: false, suspended: true });
    expect(await renderAdapter.validate(ctx({}, { serviceId: "srv-sleepy" }))).toEqual([expect.stringMatching(/suspended/)]);
    expect(await renderAdapter.validate(ctx({ credentials: { RENDER_API_KEY: "rnd_wrong" } }))).toEqual([
      expect.stringMatching(/RENDER_API_KEY was refused.*missing or invalid/),
    ]);
    expect(await renderAdapter.validate(ctx({}, { apiUrl: "http://127.0.0.1:9/v1" }))).toEqual([expect.stringMatching(/unreachable/)]);
    expect(deployCalls()).toBe(0);
    expect(fake.calls("POST", /\/rollback$/)).toHaveLength(0);
  });

  it("a wrong key is a 401 PlatformError, not retryable, with Render's message", async () => {
    const before = fake.deploys.size;
    const err = await rejection(renderAdapter.deploy(ctx({ credentials: { RENDER_API_KEY: "rnd_wrong" } })));
    expect(err.status).toBe(401);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/Authorization information is missing or invalid/);
    expect(fake.requests[0]?.headers.authorization).toBe("Bearer rnd_wrong");
    expect(fake.deploys.size).toBe(before);
  });

  it("429 and 5xx that last are retryable and carry Render's message", async () => {
    // Render's window resets in a minute: longer than a call waits, so no second attempt in process.
    fake.failNext(429, { times: MAX_ATTEMPTS });
    const limited = await rejection(renderAdapter.deploy(ctx()));
    expect(limited.status).toBe(429);
    expect(limited.retryable).toBe(true);
    expect(limited.retryAfterMs).toBe(RETRY_BUDGET_MS);
    expect(limited.message).toMatch(/Rate limit has been surpassed.*retry after \d+s/);
    expect(deployCalls()).toBe(1);
    expect(slept).toEqual([]);

    fake.failNext(503, { times: MAX_ATTEMPTS });
    const down = await rejection(renderAdapter.state(ctx(), { id: "dep-x", url: null }));
    expect(down.status).toBe(503);
    expect(down.retryable).toBe(true);
  });

  it("a 429 whose Ratelimit-Reset is near is waited out and the deploy sent again (refused before acting), creating one deploy", async () => {
    const before = fake.deploys.size;
    fake.failNext(429, { resetIn: 3 });
    const d = await renderAdapter.deploy(ctx());
    expect(fake.deploys.get(d.id)).toBeDefined();
    expect(fake.deploys.size).toBe(before + 1);
    expect(deployCalls()).toBe(2);
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThanOrEqual(1000);
  });

  it("a 503 on the deploy trigger is not sent again, so no second deploy; polling retries it", async () => {
    const before = fake.deploys.size;
    fake.failNext(503, { times: MAX_ATTEMPTS });
    const err = await rejection(renderAdapter.deploy(ctx()));
    expect(err.status).toBe(503);
    expect(err.retryable).toBe(true);
    expect(deployCalls()).toBe(1);
    expect(fake.deploys.size).toBe(before);
    expect(slept).toEqual([]);

    fake.stopFailing();
    const d = await renderAdapter.deploy(ctx());
    fake.failNext(502, { times: 2 });
    expect(await renderAdapter.state(ctx(), d)).toBe("pending");
    expect(slept).toHaveLength(2);
  });

  it("an unreachable API is a retryable PlatformError; a read is tried every time, the deploy once", async () => {
    const down = { apiUrl: "http://127.0.0.1:9/v1" };
    const read = await rejection(renderAdapter.state(ctx({}, down), { id: "dep-x", url: null }));
    expect(read.status).toBe(0);
    expect(read.retryable).toBe(true);
    expect(slept).toHaveLength(MAX_ATTEMPTS - 1);
    slept.length = 0;
    const create = await rejection(renderAdapter.deploy(ctx({}, down)));
    expect(create.status).toBe(0);
    expect(create.retryable).toBe(true);
    expect(slept).toEqual([]);
  });

  it("Render's 400 for a commit on an image-backed service comes through, not retryable", async () => {
    fake.services.set("srv-image", { id: "srv-image", name: "img", image: true, suspended: false });
    const err = await rejection(renderAdapter.deploy(ctx({}, { serviceId: "srv-image" })));
    expect(err.status).toBe(400);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/image-backed/);
    // A 400 is not retried.
    expect(deployCalls()).toBe(1);
    expect(slept).toEqual([]);
  });

  it("an unknown deploy is a 404, and rollback to a failed deploy is refused", async () => {
    const missing = await rejection(renderAdapter.state(ctx(), { id: "dep-missing", url: null }));
    expect(missing.status).toBe(404);
    fake.failNextDeploy();
    const bad = await renderAdapter.deploy(ctx());
    await settle(ctx(), bad);
    const refused = await rejection(renderAdapter.rollback(ctx(), bad));
    expect(refused.status).toBe(400);
    expect(refused.retryable).toBe(false);
  });
});
